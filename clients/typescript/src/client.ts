/**
 * LockClient: per-key locks from a threadlock coordinator, with the Python SDK's policy
 * (protocol.ts) over Connect-ES: frames on one LockService.Stream per address (stream.ts, the
 * default) or unary calls (connect.ts).
 *
 *     const locks = new LockClient({ addresses: "127.0.0.1:50051", owner: "worker-1" });
 *     await using lease = await locks.acquire("conv_abc", { ttl: 30, wait: 10 });
 *     await work({ fencingToken: lease.fencingToken, signal: lease.signal });
 */
import { randomUUID } from "node:crypto";
import { LeaseLost, NotFound, ThreadlockError, Unavailable } from "./errors.js";
import { ConnectTransport } from "./connect.js";
import { Keeper } from "./keeper.js";
import { Lease } from "./lease.js";
import {
  hold, settings as makeSettings, type AcquireOptions, type LockClientOptions, type Settings,
} from "./options.js";
import * as protocol from "./protocol.js";
import { Link, Stopped, type HoldSpec, type LeaseState } from "./protocol.js";
import type { RpcTransport } from "./rpc.js";
import { StreamTransport } from "./stream.js";
import { lockStatus, type LockStatus } from "./status.js";

export class LockClient implements AsyncDisposable {
  /** The options in force (durations in ms). */
  readonly settings: Settings;
  /** @internal */
  readonly link: Link;
  #session: Keeper | null = null;
  #sessionTurn: Promise<unknown> = Promise.resolve(); // one session opening at a time
  readonly #closing = new AbortController(); // stops background cleanups
  readonly #tasks = new Set<Promise<void>>();
  #closed = false;

  constructor(options: LockClientOptions = {}, transport?: RpcTransport) {
    this.settings = makeSettings(options);
    this.link = new Link(transport ?? wire(this.settings));
  }

  /**
   * Take `key`: try once (`wait: 0`, the default) or queue up to `wait` seconds, then throw
   * ThreadBusy naming the holder. The lease renews itself until `release()`. `signal` aborts
   * the wait (the call rejects with the signal's reason and leaves the queue), never a lock
   * already granted. With `session`, the lock lives on the client's session lease (no `ttl`).
   */
  async acquire(key: string, options: AcquireOptions = {}): Promise<Lease> {
    const { signal } = options;
    const h = hold(this.settings, key, options);
    signal?.throwIfAborted();
    if (this.#closed) throw new ThreadlockError("this LockClient is closed");
    for (let attempt = 0; ; attempt += 1) { // twice only if our session turned out gone
      const session = this.settings.session ? await this.#currentSession() : null;
      const state = session?.state ?? null;
      const spec: HoldSpec = {
        key, owner: h.owner, ttl: h.ttl, wait: h.wait, metadata: h.metadata,
        requestId: h.requestId || randomUUID(), sessionId: state?.token ?? "",
      };
      const asking: protocol.Acquiring = { spec, ownRequestId: !h.requestId };
      let granted;
      try {
        granted = await protocol.acquire(this.link, asking, this.settings.callTimeout, signal);
      } catch (error) {
        if (attempt === 0 && state && maybeSessionEnded(error)
          && await protocol.sessionGone(this.link, state, this.settings.callTimeout)) {
          continue;
        }
        if (abandonAfter(error, h.requestId)) { // no answer: leave no lock behind
          this.background((stop) => protocol.abandon(this.link, asking.spec,
            this.settings.releaseTimeout, stop));
        }
        throw error;
      }
      return new Lease(this, granted, protocol.stateOf(granted, state, asking.expires));
    }
  }

  /**
   * Run `fn` holding `key`, release in `finally`. If the lease was lost while `fn` ran, throw
   * LeaseLost after it (also when `fn` failed because `lease.signal` aborted).
   */
  async withLock<T>(key: string, options: AcquireOptions,
    fn: (lease: Lease) => Promise<T> | T): Promise<T> {
    const lease = await this.acquire(key, options);
    let result: T;
    try {
      result = await fn(lease);
    } catch (error) {
      const lost = await lease.settle();
      if (lost && (error === lease.signal.reason || isAbort(error))) throw lost;
      throw error;
    }
    const lost = await lease.settle();
    if (lost) throw lost;
    return result;
  }

  /** Holders and waiters of one key, or of every key with a prefix ("" = all). */
  async status(selector: { key: string } | { prefix: string } = { prefix: "" }):
  Promise<LockStatus[]> {
    const locks = await protocol.status(this.link, selector, this.settings.callTimeout);
    return locks.map(lockStatus);
  }

  /**
   * Close the client: cleanups in flight get a bounded moment, the session (if any) is closed,
   * which frees its locks at once, and the connections close. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#tasks.size > 0) {
      await Promise.race([Promise.allSettled([...this.#tasks]),
        protocol.sleepFor(this.settings.releaseTimeout)]);
    }
    this.#closing.abort(new Stopped());
    const session = await this.#turn(() => {
      const current = this.#session;
      this.#session = null;
      return Promise.resolve(current);
    });
    if (session !== null) {
      session.state.lose("the client closed its session"); // its locks are freed now
      await session.stop();
      await protocol.closeSession(this.link, session.state.token, this.settings.releaseTimeout)
        .catch(() => false);
    }
    await this.link.transport.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal Run a cleanup in a task of its own: it must outlive a cancelled caller. */
  background(task: (stop: AbortSignal) => Promise<void>): void {
    const running = task(this.#closing.signal).catch((error: unknown) => {
      console.warn(`threadlock: a background cleanup failed: ${String(error)}`);
    });
    this.#tasks.add(running);
    void running.finally(() => this.#tasks.delete(running));
  }

  /** The session of this client, opened (again) when there is none or it was lost. */
  async #currentSession(): Promise<Keeper> {
    return this.#turn(async () => {
      if (this.#session === null || this.#session.state.reason() !== null) {
        await this.#session?.stop();
        const state: LeaseState = await protocol.openSession(this.link, this.settings.owner,
          this.settings.sessionTtl, this.settings.callTimeout);
        this.#session = new Keeper(this.link, state,
          protocol.keepAliveRequest(state.token, true), this.settings.callTimeout);
      }
      return this.#session;
    });
  }

  /** Run `fn` after every earlier turn (a tiny mutex for the session). */
  async #turn<T>(fn: () => Promise<T>): Promise<T> {
    const mine = this.#sessionTurn.then(fn, fn);
    this.#sessionTurn = mine.catch(() => undefined);
    return mine;
  }
}

/** The transport `settings` ask for; the stream one keeps the unary one as its fallback. */
function wire(settings: Settings): RpcTransport {
  const unary = new ConnectTransport(settings.addresses, settings.tls, settings.credential);
  return settings.transport === "stream" ? new StreamTransport(unary) : unary;
}

function isAbort(error: unknown): boolean {
  return error instanceof LeaseLost || (error instanceof Error && error.name === "AbortError");
}

/**
 * An Acquire refused naming the session: it may have ended (confirm with sessionGone before
 * giving it up).
 */
function maybeSessionEnded(error: unknown): boolean {
  return error instanceof NotFound && error.details.startsWith("session_id");
}

/**
 * Whether an Acquire that threw `error` may have been granted without our knowing, and the
 * SDK may clean it up: no answer came (unavailable, timeout, abort) and the request_id is the
 * SDK's own (a caller's request_id is the caller's to retry).
 */
function abandonAfter(error: unknown, callerRequestId: string): boolean {
  if (callerRequestId) return false;
  return error instanceof Unavailable || !(error instanceof ThreadlockError);
}
