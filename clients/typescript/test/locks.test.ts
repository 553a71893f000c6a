// Grant, busy, FIFO, wait timeout, release, withLock, await using, annotate, Status,
// request_id retries, a signal aborting a queued acquire, and bad input: against the real
// coordinator the pytest wrapper started (memory or etcd backend).
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import {
  InvalidArgument, ThreadBusy, ThreadlockError, type Lease,
} from "@threadlock/client";
import { LockClient, address, eventually, key, within } from "./helpers.js";

const locks = new LockClient({ addresses: address(), owner: "ts-worker-1" });
const other = new LockClient({ addresses: [address()], owner: "ts-worker-2" });
after(async () => {
  await locks.close();
  await other.close();
});

async function waiters(name: string): Promise<string[]> {
  const [state] = await locks.status({ key: name });
  return state ? state.waiters.map((w) => w.owner) : [];
}

describe("acquire and release", () => {
  test("grant: a lease with a fencing token, renewed expiry, no session", async () => {
    const name = key("grant");
    const lease = await locks.acquire(name, { ttl: 10, metadata: { run_id: "run_1" } });
    assert.equal(lease.key, name);
    assert.equal(lease.owner, "ts-worker-1");
    assert.equal(typeof lease.fencingToken, "bigint");
    assert.ok(lease.fencingToken > 0n);
    assert.ok(lease.leaseToken.length > 0);
    assert.equal(lease.sessionId, "");
    assert.deepEqual(lease.metadata, { run_id: "run_1" });
    const left = lease.expiresAt.getTime() - Date.now();
    assert.ok(left > 4_000 && left <= 10_500, `expiresAt ${left} ms ahead`);
    assert.equal(lease.lost, false);
    assert.equal(lease.signal.aborted, false);
    lease.check();
    const [state] = await locks.status({ key: name });
    assert.equal(state?.holder?.owner, "ts-worker-1");
    assert.equal(state.holder.fencingToken, lease.fencingToken);
    assert.deepEqual(state.holder.metadata, { run_id: "run_1" });
    assert.equal(await lease.release(), true);
    assert.deepEqual(await locks.status({ key: name }), []);
  });

  test("busy: ThreadBusy names the holder and carries the coordinator's message", async () => {
    const name = key("busy");
    const lease = await locks.acquire(name, { ttl: 10, metadata: { step: "1" } });
    const busy = await other.acquire(name, { ttl: 10 }).then(
      () => assert.fail("granted twice"), (error: unknown) => error);
    assert.ok(busy instanceof ThreadBusy);
    assert.ok(busy instanceof ThreadlockError);
    assert.equal(busy.name, "ThreadBusy");
    assert.equal(busy.key, name);
    assert.equal(busy.holder, "ts-worker-1");
    assert.equal(busy.fencingToken, lease.fencingToken);
    assert.deepEqual(busy.metadata, { step: "1" });
    assert.ok(busy.message.includes(name), busy.message);
    assert.ok(busy.message.includes("ts-worker-1"), busy.message);
    assert.ok(busy.holderSince instanceof Date);
    assert.ok(busy.holderUntil instanceof Date);
    assert.equal(busy.waiters, 0);
    assert.equal(busy.waited, 0);
    await lease.release();
  });

  test("wait timeout: a queued acquire that is not served in time throws ThreadBusy", async () => {
    const name = key("timeout");
    const lease = await locks.acquire(name, { ttl: 10 });
    const busy = await other.acquire(name, { ttl: 10, wait: 1 }).then(
      () => assert.fail("granted twice"), (error: unknown) => error);
    assert.ok(busy instanceof ThreadBusy);
    assert.equal(busy.holder, "ts-worker-1");
    assert.ok(busy.waited >= 0.5, `waited ${busy.waited}s`);
    assert.deepEqual(await waiters(name), []); // it left the queue
    await lease.release();
  });

  test("FIFO: three waiters are served in arrival order, tokens increasing", async () => {
    const name = key("fifo");
    const holder = await locks.acquire(name, { ttl: 10 });
    const clients = ["w-a", "w-b", "w-c"].map((owner) => new LockClient({ addresses: address(), owner }));
    const order: string[] = [];
    const pending: Promise<Lease>[] = [];
    for (const [i, client] of clients.entries()) {
      pending.push(client.acquire(name, { ttl: 10, wait: 30 }).then((lease) => {
        order.push(lease.owner);
        return lease;
      }));
      await eventually(async () => (await waiters(name)).length === i + 1, `waiter ${i + 1}`);
    }
    assert.deepEqual(await waiters(name), ["w-a", "w-b", "w-c"]);
    let last = holder.fencingToken;
    await holder.release();
    for (const [i, promise] of pending.entries()) {
      const lease = await within(promise, 15_000, `grant ${i}`);
      assert.deepEqual(order, ["w-a", "w-b", "w-c"].slice(0, i + 1));
      assert.ok(lease.fencingToken > last);
      last = lease.fencingToken;
      await lease.release();
    }
    await Promise.all(clients.map((c) => c.close()));
  });

  test("release is idempotent: true, then false, and the key is free", async () => {
    const name = key("release");
    const lease = await locks.acquire(name, { ttl: 10 });
    assert.equal(await lease.release(), true);
    assert.equal(await lease.release(), false);
    assert.equal(lease.lost, false);
    assert.equal(lease.signal.aborted, false);
    const again = await other.acquire(name, { ttl: 10 });
    assert.ok(again.fencingToken > lease.fencingToken);
    await again.release();
  });

  test("await using releases at the end of the block", async () => {
    const name = key("using");
    {
      await using lease = await locks.acquire(name, { ttl: 10 });
      assert.equal((await locks.status({ key: name })).length, 1);
      assert.equal(lease.lost, false);
    }
    assert.deepEqual(await locks.status({ key: name }), []);
  });

  test("withLock runs the body under the lock and releases in finally", async () => {
    const name = key("with");
    const seen = await locks.withLock(name, { ttl: 10 }, async (lease) => {
      const [state] = await locks.status({ key: name });
      return [lease.key, state?.holder?.fencingToken === lease.fencingToken] as const;
    });
    assert.deepEqual(seen, [name, true]);
    assert.deepEqual(await locks.status({ key: name }), []);
    await assert.rejects(locks.withLock(name, { ttl: 10 }, () => {
      throw new Error("boom");
    }), /boom/);
    assert.deepEqual(await locks.status({ key: name }), []); // released after a failing body
  });

  test("annotate merges metadata that Status shows", async () => {
    const name = key("annotate");
    const lease = await locks.acquire(name, { ttl: 10, metadata: { a: "1" } });
    await lease.annotate({ response_id: "resp_1" });
    const [state] = await locks.status({ key: name });
    assert.deepEqual(state?.holder?.metadata, { a: "1", response_id: "resp_1" });
    await lease.annotate({ a: "" }); // an empty value deletes the entry
    assert.deepEqual((await locks.status({ key: name }))[0]?.holder?.metadata, { response_id: "resp_1" });
    await lease.release();
  });

  test("status by prefix lists every held key under it", async () => {
    const prefix = key("prefix");
    const a = await locks.acquire(`${prefix}/a`, { ttl: 10 });
    const b = await other.acquire(`${prefix}/b`, { ttl: 10 });
    const listed = await locks.status({ prefix });
    assert.deepEqual(listed.map((s) => [s.key, s.holder?.owner]),
      [[`${prefix}/a`, "ts-worker-1"], [`${prefix}/b`, "ts-worker-2"]]);
    const everything = (await locks.status()).map((s) => s.key); // no selector: all keys
    assert.ok(everything.includes(`${prefix}/a`) && everything.includes(`${prefix}/b`));
    await a.release();
    await b.release();
  });

  test("request_id: a retry gets the same lease back, never a second grant", async () => {
    const name = key("rid");
    const requestId = key("request");
    const first = await locks.acquire(name, { ttl: 10, requestId });
    const retry = await locks.acquire(name, { ttl: 10, requestId });
    assert.equal(retry.leaseToken, first.leaseToken);
    assert.equal(retry.fencingToken, first.fencingToken);
    assert.equal(await first.release(), true);
    assert.equal(await retry.release(), false); // the same lease, already released
  });
});

describe("defaults", () => {
  test("address from $THREADLOCK_ADDRESS, owner host:pid", async () => {
    const saved = process.env["THREADLOCK_ADDRESS"];
    process.env["THREADLOCK_ADDRESS"] = address();
    try {
      await using client = new LockClient();
      const lease = await client.acquire(key("defaults"), { ttl: 5 });
      assert.match(lease.owner, new RegExp(`:${process.pid}$`));
      assert.equal(await lease.release(), true);
    } finally {
      if (saved === undefined) delete process.env["THREADLOCK_ADDRESS"];
      else process.env["THREADLOCK_ADDRESS"] = saved;
    }
  });
});

describe("signal", () => {
  test("aborting a queued acquire rejects it with the reason and leaves the queue", async () => {
    const name = key("abort");
    const lease = await locks.acquire(name, { ttl: 10 });
    const controller = new AbortController();
    const queued = other.acquire(name, { ttl: 10, wait: 60, signal: controller.signal });
    await eventually(async () => (await waiters(name)).length === 1, "the waiter to queue");
    const reason = new Error("user went away");
    controller.abort(reason);
    await assert.rejects(within(queued, 10_000, "the abort"), (error) => error === reason);
    await eventually(async () => (await waiters(name)).length === 0, "the waiter to leave");
    assert.equal((await locks.status({ key: name }))[0]?.holder?.owner, "ts-worker-1");
    await lease.release();
    const next = await other.acquire(name, { ttl: 10 }); // nobody left behind in the queue
    await next.release();
  });

  test("an aborted signal rejects at once, and never touches a lock already held", async () => {
    const name = key("abort2");
    await assert.rejects(locks.acquire(name, { signal: AbortSignal.abort() }),
      (error: unknown) => error instanceof Error && error.name === "AbortError");
    assert.deepEqual(await locks.status({ key: name }), []);
    const controller = new AbortController();
    const lease = await locks.acquire(name, { ttl: 10, signal: controller.signal });
    controller.abort();
    assert.equal(lease.lost, false);
    assert.equal(lease.signal.aborted, false);
    assert.equal((await locks.status({ key: name }))[0]?.holder?.owner, "ts-worker-1");
    assert.equal(await lease.release(), true);
  });
});

describe("bad input", () => {
  test("the coordinator's INVALID_ARGUMENT names the field", async () => {
    for (const [bad, field] of [
      [() => locks.acquire(key("ttl"), { ttl: 0.5 }), "ttl"],
      [() => locks.acquire("bad\u0001key", { ttl: 10 }), "key"],
      [() => locks.acquire(key("md"), { ttl: 10, metadata: { "": "x" } }), "metadata"],
      [() => locks.acquire(key("wait"), { ttl: 10, wait: 100_000 }), "wait"],
    ] as const) {
      const error = await bad().then(() => assert.fail(`${field} accepted`), (e: unknown) => e);
      assert.ok(error instanceof InvalidArgument, String(error));
      assert.equal(error.name, "InvalidArgument");
      assert.equal(error.code, "INVALID_ARGUMENT");
      assert.ok(error.field.startsWith(field), `${error.field} for ${field}`);
    }
  });

  test("what is certainly wrong is refused before any call", async () => {
    await assert.rejects(locks.acquire("", { ttl: 10 }), RangeError);
    await assert.rejects(locks.acquire(key("neg"), { ttl: -1 }), /ttl: must be a positive/);
    await assert.rejects(locks.acquire(key("neg"), { wait: -1 }), /wait: must be zero/);
    assert.throws(() => new LockClient({ addresses: [] }), /addresses: give at least one/);
    assert.throws(() => new LockClient({ callTimeout: 0 }), /callTimeout: must be a positive/);
    assert.throws(() => new LockClient({ tls: { ca: "/nonexistent/ca.pem" } }), /ENOENT/);
  });
});
