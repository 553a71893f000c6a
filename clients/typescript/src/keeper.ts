/**
 * A background renewal of one lease (a lock's own, or the session's) until stopped, and the
 * bookkeeping of a release, shared by Lease and LockClient.
 */
import { LeaseLost } from "./errors.js";
import type { KeepAliveRequest } from "./gen/threadlock/v1/lock_pb.js";
import { Stopped, keep, type Link, type LeaseState } from "./protocol.js";

export class Keeper {
  readonly state: LeaseState;
  private readonly stopper = new AbortController();
  private readonly done: Promise<void>;

  constructor(link: Link, state: LeaseState, request: KeepAliveRequest, callTimeout: number) {
    this.state = state;
    this.done = keep(link, state, request, callTimeout, this.stopper.signal).catch(
      (error: unknown) => { // never die silently: the holder must learn of it
        state.lose(`renewal stopped: ${describe(error)}`);
      });
  }

  /** Stop renewing; a renewal in flight is cancelled, so this returns at once. */
  async stop(): Promise<void> {
    this.stopper.abort(new Stopped());
    await this.done;
  }
}

/**
 * What a lease becomes after its Release: never renewed or reused again; lost if the
 * coordinator said it held nothing any more, or if the release did not get through.
 */
export function settleRelease(state: LeaseState, result: boolean | null,
  error: unknown): void {
  state.released = true;
  if (error !== undefined) {
    state.lose(`its release failed (${describe(error)}); it is no longer renewed`
      + (state.parent ? " and is retried in the background" : " and lapses after its TTL"));
  } else if (result === null) {
    state.lose("at release the coordinator said it no longer held the key (it expired or "
      + "was released by someone else)");
  }
}

/** The error a lost lease's signal aborts with. */
export function lostError(state: LeaseState): LeaseLost {
  return new LeaseLost(state.key, state.fencingToken, state.lostReason ?? "lost");
}

/** An error's message for a reason string (anything thrown, not only Errors). */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
