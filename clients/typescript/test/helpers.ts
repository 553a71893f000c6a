// What every test file shares: the coordinators the pytest wrapper (tests/test_typescript.py)
// started, unique keys, waiting on a condition, and raw calls that act "behind the SDK's
// back" (a release or a session close by someone holding the token).
import { randomUUID } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { LockClient as SdkLockClient, type LockClientOptions } from "@threadlock/client";
// The contract's own generated descriptors (compiled along with the tests).
import { LockService } from "../src/gen/threadlock/v1/lock_pb.js";

export function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through tests/test_typescript.py`);
  return value;
}

/** The plaintext coordinator (memory or etcd backend, THREADLOCK_TEST_BACKEND). */
export function address(): string {
  return env("THREADLOCK_TEST_ADDRESS");
}

/**
 * The SDK's LockClient on the transport this run asks for: the wrapper runs the suites once
 * per transport ($THREADLOCK_TEST_TRANSPORT "stream" or "unary"; unset: the SDK's default).
 * A test that names a transport itself keeps it.
 */
export class LockClient extends SdkLockClient {
  constructor(options: LockClientOptions = {}) {
    const transport = process.env.THREADLOCK_TEST_TRANSPORT as LockClientOptions["transport"];
    super(transport ? { transport, ...options } : options);
  }
}

export function key(name: string): string {
  return `ts-${name}-${randomUUID().slice(0, 8)}`;
}

/** Wait until `check` answers truthy (polling every 50 ms), up to `timeoutMs`; generous. */
export async function eventually<T>(check: () => Promise<T> | T, what: string,
  timeoutMs = 15_000): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

/** A raw Connect client of the contract, to act behind the SDK's back. */
export function raw(at = address()): Client<typeof LockService> {
  return createClient(LockService, createGrpcTransport({ baseUrl: `http://${at}` }));
}

/** A loopback port where nobody listens (bound, then closed). */
export async function deadPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const bound = server.address();
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  if (bound === null || typeof bound === "string") throw new Error("no port");
  return `127.0.0.1:${bound.port}`;
}

/** Resolves with the abort reason when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    signal.addEventListener("abort", () => { resolve(signal.reason); }, { once: true });
  });
}

/** `promise`, or an error after `ms` (so a failing test ends with a message, not a hang). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const timer = new AbortController();
  try {
    const late = delay(ms, undefined, { signal: timer.signal }).then(() => {
      throw new Error(`${what} did not happen within ${ms} ms`);
    }, () => new Promise<never>(() => undefined)); // cancelled: never settles
    return await Promise.race([promise, late]);
  } finally {
    timer.abort();
  }
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const bound = server.address();
  if (bound === null || typeof bound === "string") throw new Error("no port");
  return `127.0.0.1:${bound.port}`;
}

export interface Gate {
  address: string;
  /** Stop listening and cut every connection (the coordinator "goes away"). */
  close(): void;
}

/**
 * A TCP relay to `target` that a test can cut, to take the coordinator away from one client
 * only. "hang": it accepts connections and never answers (a hung address). "deaf": requests
 * reach the coordinator, its answers are dropped (a call that is served but never answered).
 */
export async function gate(target: string, mode: "relay" | "hang" | "deaf" = "relay"):
Promise<Gate> {
  const [host = "", port = ""] = target.split(":");
  const sockets = new Set<Socket>();
  const track = (socket: Socket): Socket => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    return socket;
  };
  const server = createServer((client) => {
    track(client);
    if (mode === "hang") return;
    const upstream = track(connect(Number(port), host));
    client.pipe(upstream);
    if (mode === "relay") upstream.pipe(client);
    else upstream.resume(); // read and drop
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  const at = await listen(server);
  return {
    address: at,
    close() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
