/**
 * A held lock: renewed in the background while held, `signal` aborts when it is lost, and
 * `await using` releases it.
 *
 *     await using lease = await locks.acquire("conv_abc", { ttl: 30, wait: 10 });
 *     await openai.responses.create({ conversation: "conv_abc", input }, { signal: lease.signal });
 */
import { LeaseLost } from "./errors.js";
import type { Lease as LeaseMessage } from "./gen/threadlock/v1/lock_pb.js";
import { Keeper, lostError, settleRelease } from "./keeper.js";
import * as protocol from "./protocol.js";
import type { LeaseState, Link } from "./protocol.js";
import type { Settings } from "./options.js";
import { now } from "./time.js";

/** What a lease needs of its client (LockClient implements it). */
export interface LeaseHost {
  readonly link: Link;
  readonly settings: Settings;
  /** Run a cleanup that must outlive its caller, until the client closes. */
  background(task: (stop: AbortSignal) => Promise<void>): void;
}

export class Lease implements AsyncDisposable {
  readonly key: string;
  readonly owner: string;
  /** Strictly increases with every grant of the key: hand it to what you protect. */
  readonly fencingToken: bigint;
  /** Opaque; it releases the lock. Treat it as a secret. */
  readonly leaseToken: string;
  /** The session the lock lives under, or "". */
  readonly sessionId: string;
  readonly acquiredAt: Date | null;
  /** The metadata granted with the lock (annotate() changes the coordinator's copy). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Aborts, with a LeaseLost reason, when the lease is lost. Pass it to the protected work. */
  readonly signal: AbortSignal;

  readonly #host: LeaseHost;
  readonly #state: LeaseState;
  readonly #keeper: Keeper | null;
  #released = false;

  /** @internal LockClient.acquire makes leases. */
  constructor(host: LeaseHost, lease: LeaseMessage, state: LeaseState) {
    this.key = lease.key;
    this.owner = lease.owner;
    this.fencingToken = lease.fencingToken;
    this.leaseToken = lease.leaseToken;
    this.sessionId = lease.sessionId;
    this.acquiredAt = protocol.date(lease.acquiredAt);
    this.metadata = Object.freeze({ ...lease.metadata });
    this.#host = host;
    this.#state = state;
    const aborter = new AbortController();
    this.signal = aborter.signal;
    state.listeners.add(() => {
      aborter.abort(lostError(state));
    });
    this.#keeper = state.parent ? null : new Keeper(host.link, state,
      protocol.keepAliveRequest(lease.leaseToken, false), host.settings.callTimeout);
    state.reason(); // a grant that came too late is lost at once
  }

  /** When the lease lapses unless renewed, as this process reckons it (conservative). */
  get expiresAt(): Date {
    const state = this.#state.parent ?? this.#state;
    return new Date(Date.now() + (state.expires - now()));
  }

  /** True once the lease ended under us (renewal refused, or not renewed in time). */
  get lost(): boolean {
    return this.#state.reason() !== null;
  }

  get lostReason(): string | null {
    return this.#state.reason();
  }

  /** A checkpoint: throw LeaseLost if the lease ended. Call it between steps of work. */
  check(): void {
    this.#state.check();
  }

  /**
   * Merge `metadata` into the lock's metadata at the coordinator, so Status shows what the
   * holder is doing now (e.g. { response_id: "resp_1" }); an empty value deletes that entry.
   * Renews the lease as a side effect. Throws LeaseLost if it is gone.
   */
  async annotate(metadata: Record<string, string>): Promise<void> {
    await protocol.annotate(this.#host.link, this.#state, { ...metadata },
      this.#host.settings.callTimeout);
  }

  /**
   * Give the lock back. True: released now; false: released before (by this lease, or the
   * coordinator said the token held nothing any more, in which case the lease is lost).
   * Throws (Unavailable, ...) if the release did not get through: the lock then lapses after
   * its TTL (a session's lock is released in the background until it is).
   */
  async release(): Promise<boolean> {
    if (this.#released) return false;
    this.#released = true;
    const state = this.#state;
    if (this.#keeper) await this.#keeper.stop();
    else state.forgetParent();
    const { link, settings } = this.#host;
    let result: boolean | null;
    try {
      result = await protocol.release(link, this.leaseToken, settings.releaseTimeout);
    } catch (error) {
      settleRelease(state, null, error);
      const session = state.parent;
      if (session) {
        this.#host.background((stop) => protocol.releaseUntilDone(link, this.leaseToken, session,
          settings.releaseTimeout, stop));
      }
      throw error;
    }
    settleRelease(state, result, undefined);
    return result === true;
  }

  /**
   * Release, and say whether the lease was lost while held (or found gone at release). A
   * failed release is logged, not thrown: the work ran under the lock, which lapses later.
   * @internal
   */
  async settle(): Promise<LeaseLost | null> {
    let lost = this.#state.reason();
    try {
      await this.release();
      lost = this.#state.lostReason; // the release may have found it gone
    } catch (error) {
      console.warn(`threadlock: releasing ${JSON.stringify(this.key)} failed (${String(error)})`);
    }
    return lost === null ? null : new LeaseLost(this.key, this.fencingToken, lost);
  }

  /** `await using`: release; throw LeaseLost if the lease was lost while held. */
  async [Symbol.asyncDispose](): Promise<void> {
    const lost = await this.settle();
    if (lost) throw lost;
  }

  toString(): string {
    const lost = this.lost ? `, lost: ${this.lostReason ?? ""}` : "";
    return `Lease(${JSON.stringify(this.key)} token=${this.fencingToken}${lost})`;
  }
}
