/**
 * What the SDK knows about one lease (a lock's own, or a session's), as in the Python SDK's
 * LeaseState. Loss is sticky and announced once to every listener. A lock held under a
 * session has `parent` = the session's state and is lost with it.
 */
import { LeaseLost } from "./errors.js";
import { now } from "./time.js";

/** A lease is declared lost this long (ms) before its guessed expiry: stop before others may start. */
export function marginOf(ttl: number): number {
  return Math.min(1000, ttl / 10);
}

export class LeaseState {
  readonly key: string;
  /** Lease token, or session id. */
  readonly token: string;
  readonly fencingToken: bigint;
  /** TTL in ms. */
  ttl: number;
  /** Monotonic ms: when it lapses unless renewed (a conservative guess). */
  expires: number;
  readonly parent: LeaseState | null;
  lostReason: string | null = null;
  /** Given back (Release answered): nothing to renew or reuse. */
  released = false;
  readonly listeners = new Set<() => void>();
  private readonly onParentLost = (): void => {
    this.reason();
  };

  constructor(key: string, token: string, fencingToken: bigint, ttl: number, expires: number,
    parent: LeaseState | null = null) {
    this.key = key;
    this.token = token;
    this.fencingToken = fencingToken;
    this.ttl = ttl;
    this.expires = expires;
    this.parent = parent;
    parent?.listeners.add(this.onParentLost); // pass the session's loss on
  }

  /** Declared lost this long before the guessed expiry: stop before others may start. */
  get margin(): number {
    return marginOf(this.ttl);
  }

  /** Released: stop listening to the session (it may outlive thousands of locks). */
  forgetParent(): void {
    this.parent?.listeners.delete(this.onParentLost);
  }

  /** A renewal sent at `sent` was answered with `ttl` ms: counted from the send. */
  renewed(sent: number, ttl: number): void {
    this.ttl = ttl;
    this.expires = sent + ttl;
  }

  /** Ms until the next renewal: a third into the TTL, as the contract advises. */
  dueIn(): number {
    return Math.max(this.expires - (this.ttl * 2) / 3 - now(), 0);
  }

  /** Why it was lost, or null; finds a lapse by the clock or a session's loss. */
  reason(): string | null {
    if (this.lostReason === null && !this.released) { // a released lease lapses unmourned
      const parent = this.parent?.reason() ?? null;
      if (parent !== null) {
        this.lose(`its session was lost: ${parent}`);
      } else if (this.parent === null && now() >= this.expires - this.margin) {
        this.lose("it was not renewed in time (TTL lapsed)");
      }
    }
    return this.lostReason;
  }

  lose(reason: string): void {
    if (this.lostReason !== null) return;
    this.lostReason = reason;
    for (const notify of [...this.listeners]) {
      try {
        notify();
      } catch (error) { // one bad callback must not keep the others uninformed
        console.error(`threadlock: a lease-loss listener of ${JSON.stringify(this.key)} failed`,
          error);
      }
    }
  }

  error(): LeaseLost | null {
    const reason = this.reason();
    return reason === null ? null : new LeaseLost(this.key, this.fencingToken, reason);
  }

  check(): void {
    const lost = this.error();
    if (lost !== null) throw lost;
  }
}
