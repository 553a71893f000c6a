// The stream transport (src/stream.ts, the default) against the real coordinator, seen
// through an HTTP/2 relay that records each call's gRPC path (h2proxy.ts): calls go as frames
// on one LockService.Stream; an aborted queued Acquire sends a cancel frame (the coordinator
// drops the waiter, the stream lives on); a stream cut mid-call fails that call UNAVAILABLE
// and the next call opens a new stream; a full stream (calls in flight) makes another; a stream
// whose coordinator is shutting down takes no new calls; a coordinator without Stream is called
// unary; an idle stream does not keep Node alive; `transport: "unary"` makes no stream; a bad
// value is refused naming the field.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { LockClient, Unavailable } from "@threadlock/client";
// The transport itself, below the policy's retries (compiled along with the tests).
import { ConnectTransport } from "../src/connect.js";
import { AcquireRequestSchema, StatusRequestSchema } from "../src/gen/threadlock/v1/lock_pb.js";
import { RpcFailure } from "../src/rpc.js";
import { StreamTransport } from "../src/stream.js";
import { STREAM, h2proxy } from "./h2proxy.js";
import { address, deadPort, env, eventually, key, within } from "./helpers.js";

const observer = (): LockClient => new LockClient({ addresses: address(), owner: "ts-observer" });

async function waiters(locks: LockClient, name: string): Promise<string[]> {
  const [state] = await locks.status({ key: name });
  return state ? state.waiters.map((w) => w.owner) : [];
}

describe("transport: stream (the default)", () => {
  test("every call is a frame on one LockService.Stream: grant, queue, handoff, status, release", async () => {
    const proxy = await h2proxy(address());
    try {
      await using locks = new LockClient({ addresses: proxy.address, owner: "ts-stream-1" });
      await using other = new LockClient({ addresses: proxy.address, owner: "ts-stream-2" });
      const name = key("stream");
      const lease = await locks.acquire(name, { ttl: 10 });
      const queued = other.acquire(name, { ttl: 10, wait: 30 });
      await eventually(async () => (await waiters(locks, name)).includes("ts-stream-2"), "the waiter to queue");
      assert.equal(await lease.release(), true);
      const next = await within(queued, 15_000, "the handoff");
      assert.ok(next.fencingToken > lease.fencingToken);
      assert.equal((await other.status({ key: name }))[0]?.holder?.owner, "ts-stream-2");
      assert.equal(await next.release(), true);
      // Two clients: two streams, and nothing else went over the wire.
      assert.deepEqual(proxy.paths, [STREAM, STREAM]);
    } finally {
      await proxy.close();
    }
  });

  test("an aborted queued Acquire sends a cancel frame: the waiter leaves, the next one is granted, the stream lives on", async () => {
    const proxy = await h2proxy(address());
    const watch = observer();
    try {
      await using locks = new LockClient({ addresses: proxy.address, owner: "ts-cancel" });
      const name = key("cancel");
      const holder = await watch.acquire(name, { ttl: 10 });
      const controller = new AbortController();
      const first = locks.acquire(name, { ttl: 10, wait: 60, signal: controller.signal, owner: "ts-first" });
      await eventually(async () => (await waiters(watch, name)).length === 1, "the first waiter");
      const second = locks.acquire(name, { ttl: 10, wait: 60, owner: "ts-second" });
      await eventually(async () => (await waiters(watch, name)).length === 2, "the second waiter");
      controller.abort(new Error("gave up"));
      await assert.rejects(within(first, 10_000, "the abort"), /gave up/);
      await eventually(async () => (await waiters(watch, name)).join() === "ts-second", "the first waiter to leave");
      await holder.release();
      const granted = await within(second, 15_000, "the grant to the second waiter");
      assert.equal(granted.owner, "ts-second");
      assert.equal(await granted.release(), true);
      assert.deepEqual(proxy.paths, [STREAM]); // a cancel frame, not a broken stream
    } finally {
      await watch.close();
      await proxy.close();
    }
  });

  test("a stream cut mid-call fails the call UNAVAILABLE; the next call opens a new stream", async () => {
    const proxy = await h2proxy(address());
    const watch = observer();
    const transport = new StreamTransport(new ConnectTransport([proxy.address], null));
    try {
      const name = key("cut");
      const holder = await watch.acquire(name, { ttl: 10 });
      const pending = transport.call("acquire", create(AcquireRequestSchema, {
        key: name, owner: "ts-cut", requestId: `r-${name}`, ttl: durationFromMs(10_000),
        wait: durationFromMs(60_000) }), 0, 70_000);
      await eventually(async () => (await waiters(watch, name)).includes("ts-cut"), "the waiter");
      proxy.cut();
      await assert.rejects(within(pending, 10_000, "the failure"),
        (error: unknown) => error instanceof RpcFailure && error.code === "UNAVAILABLE");
      // The coordinator cancelled the calls of the broken stream: the waiter is gone.
      await eventually(async () => (await waiters(watch, name)).length === 0, "the waiter to be dropped");
      const status = await transport.call("status", create(StatusRequestSchema, { selector: { case: "key", value: name } }), 0, 10_000);
      assert.equal(status.locks[0]?.holder?.owner, holder.owner);
      assert.deepEqual(proxy.paths, [STREAM, STREAM]);
      await holder.release();
    } finally {
      await transport.close();
      await watch.close();
      await proxy.close();
    }
  });

  test("a stream full of calls in flight (max_stream_calls) makes the next call open another", async () => {
    const proxy = await h2proxy(address());
    const watch = observer();
    const transport = new StreamTransport(new ConnectTransport([proxy.address], null), 2);
    const controller = new AbortController();
    try {
      const name = key("full");
      const holder = await watch.acquire(name, { ttl: 10 });
      const queue = (i: number): Promise<unknown> => transport.call("acquire", create(AcquireRequestSchema, {
        key: name, owner: `ts-full-${i}`, requestId: `r-${name}-${i}`, ttl: durationFromMs(10_000),
        wait: durationFromMs(60_000) }), 0, 70_000, controller.signal).catch((error: unknown) => error);
      const queued = [queue(1), queue(2)];
      await eventually(async () => (await waiters(watch, name)).length === 2, "two waiters");
      assert.deepEqual(proxy.paths, [STREAM]);
      queued.push(queue(3));
      await eventually(async () => (await waiters(watch, name)).length === 3, "the third waiter");
      assert.deepEqual(proxy.paths, [STREAM, STREAM]);
      controller.abort();
      for (const outcome of await Promise.all(queued)) {
        assert.ok(outcome instanceof RpcFailure && outcome.code === "CANCELLED", String(outcome));
      }
      await eventually(async () => (await waiters(watch, name)).length === 0, "the waiters to leave");
      await holder.release();
    } finally {
      await transport.close();
      await watch.close();
      await proxy.close();
    }
  });

  test("a stream whose coordinator is shutting down takes no new calls: the next call opens a new stream", async () => {
    // A coordinator of this test's own (memory backend), to stop: SIGTERM starts its graceful
    // shutdown (THREADLOCK_SHUTDOWN_GRACE), during which it answers new calls UNAVAILABLE.
    const listen = await deadPort();
    const server = spawn(env("THREADLOCK_TEST_PYTHON"), ["-m", "threadlock", "serve"], {
      env: { ...process.env, THREADLOCK_LISTEN: listen, THREADLOCK_HTTP_LISTEN: await deadPort(),
        THREADLOCK_SHUTDOWN_GRACE: "5", THREADLOCK_ETCD_ENDPOINTS: "" },
      stdio: "ignore",
    });
    const proxy = await h2proxy(listen);
    const transport = new StreamTransport(new ConnectTransport([proxy.address], null));
    const status = (): Promise<unknown> => transport.call("status", create(StatusRequestSchema, {
      selector: { case: "prefix", value: "ts-nothing-" } }),
      0, 2_000).catch((error: unknown) => error);
    const exited = new Promise((resolve) => server.on("exit", resolve));
    try {
      await eventually(async () => !((await status()) instanceof Error), "the coordinator to serve", 30_000);
      proxy.paths.length = 0; // from here on, one stream
      const name = key("shutdown");
      const holder = await transport.call("acquire", create(AcquireRequestSchema, {
        key: name, owner: "ts-holder", requestId: `h-${name}`, ttl: durationFromMs(30_000) }), 0, 10_000);
      assert.equal(holder.result.case, "lease");
      // A call in flight keeps the old stream open through the grace period.
      const queued = transport.call("acquire", create(AcquireRequestSchema, {
        key: name, owner: "ts-queued", requestId: `q-${name}`, ttl: durationFromMs(30_000),
        wait: durationFromMs(60_000) }), 0, 70_000).catch((error: unknown) => error);
      await delay(300);
      server.kill("SIGTERM");
      const refused = await eventually(async () => {
        const outcome = await status();
        return outcome instanceof RpcFailure && outcome.details.startsWith("server is shutting down") && outcome;
      }, "the shutting-down answer");
      assert.ok(refused instanceof RpcFailure && refused.code === "UNAVAILABLE");
      assert.deepEqual(proxy.paths, []);
      await status(); // not on the retired stream: a new one (which the stopping server refuses)
      assert.deepEqual(proxy.paths, [STREAM]);
      assert.ok((await within(queued, 30_000, "the queued call's end")) instanceof RpcFailure);
    } finally {
      server.kill("SIGKILL");
      await exited;
      await transport.close();
      await proxy.close();
    }
  });

  test("a queued acquire survives a cut stream: retried on a new stream (same request_id), then granted", async () => {
    const proxy = await h2proxy(address());
    const watch = observer();
    try {
      await using locks = new LockClient({ addresses: proxy.address, owner: "ts-survivor" });
      const name = key("survive");
      const holder = await watch.acquire(name, { ttl: 10 });
      const queued = locks.acquire(name, { ttl: 10, wait: 60 });
      await eventually(async () => (await waiters(watch, name)).includes("ts-survivor"), "the waiter");
      proxy.cut();
      await eventually(() => proxy.paths.length === 2, "a new stream");
      await eventually(async () => (await waiters(watch, name)).includes("ts-survivor"), "the waiter again");
      await holder.release();
      const lease = await within(queued, 15_000, "the grant");
      assert.equal(await lease.release(), true);
    } finally {
      await watch.close();
      await proxy.close();
    }
  });

  test("a coordinator without Stream (UNIMPLEMENTED) is called unary from then on", async () => {
    const proxy = await h2proxy(address(), { noStream: true });
    try {
      await using locks = new LockClient({ addresses: proxy.address });
      const name = key("old");
      const lease = await locks.acquire(name, { ttl: 10 });
      assert.equal((await locks.status({ key: name }))[0]?.holder?.fencingToken, lease.fencingToken);
      assert.equal(await lease.release(), true);
      assert.equal(proxy.paths[0], STREAM);
      assert.deepEqual(proxy.paths.slice(1).filter((p) => p === STREAM), []);
      for (const method of ["Acquire", "Status", "Release"]) {
        assert.ok(proxy.paths.includes(`/threadlock.v1.LockService/${method}`), proxy.paths.join());
      }
    } finally {
      await proxy.close();
    }
  });

  test("an open, idle stream does not keep Node alive (a script that never calls close() exits)", async () => {
    const script = `import { LockClient } from "@threadlock/client";
      const locks = new LockClient({ addresses: ${JSON.stringify(address())} });
      const lease = await locks.acquire(${JSON.stringify(key("exit"))}, { ttl: 5 });
      await locks.status({ key: lease.key });
      if (!(await lease.release())) process.exit(3);
      console.log("done");`;
    const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { cwd: root });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => { out += chunk.toString(); });
    child.stderr.on("data", (chunk: Buffer) => { out += chunk.toString(); });
    try {
      const code = await within(new Promise((resolve) => child.on("exit", resolve)), 20_000, "the script's exit");
      assert.equal(code, 0, out);
      assert.match(out, /done/);
    } finally {
      child.kill();
    }
  });
});

describe("transport: unary", () => {
  test("every call is its own unary RPC, no stream", async () => {
    const proxy = await h2proxy(address());
    try {
      await using locks = new LockClient({ addresses: proxy.address, transport: "unary", session: true });
      const name = key("unary");
      const lease = await locks.acquire(name, { ttl: 10 });
      assert.equal((await locks.status({ key: name }))[0]?.holder?.owner, locks.settings.owner);
      assert.equal(await lease.release(), true);
      assert.ok(proxy.paths.length >= 4, proxy.paths.join());
      assert.ok(!proxy.paths.includes(STREAM), proxy.paths.join());
      assert.ok(proxy.paths.includes("/threadlock.v1.LockService/OpenSession"), proxy.paths.join());
    } finally {
      await proxy.close();
    }
  });

  test("with the coordinator gone, both transports end with Unavailable within the deadline", async () => {
    const proxy = await h2proxy(address());
    await proxy.close(); // nobody listens there any more
    for (const transport of ["stream", "unary"] as const) {
      await using locks = new LockClient({ addresses: proxy.address, transport, callTimeout: 1 });
      await assert.rejects(within(locks.status({ key: "x" }), 15_000, transport), Unavailable);
    }
  });
});

describe("the transport option", () => {
  test("a bad value is refused naming the field", () => {
    assert.throws(() => new LockClient({ addresses: address(), transport: "grpc" as "unary" }),
      { name: "RangeError", message: 'transport: must be "stream" or "unary", got "grpc"' });
    assert.throws(() => new LockClient({ addresses: address(), transport: 1 as unknown as "unary" }),
      { name: "RangeError", message: 'transport: must be "stream" or "unary", got number' });
    assert.equal(new LockClient({ addresses: address() }).settings.transport, "stream");
  });
});
