/**
 * The lock protocol's policy, once: deadlines, failover, retry with the same request_id,
 * renewal, loss detection, cleanup of unanswered Acquires, sessions. It is the TypeScript
 * twin of the Python SDK's `_protocol.py` (same names, same rules), written as async
 * functions against the tiny RpcTransport interface (rpc.ts); connect.ts is the wire.
 *
 * Time is monotonic milliseconds (time.ts); the public API speaks seconds.
 * Stopping: background flows get a `stop` signal aborted with a Stopped reason; a caller's
 * own signal (an acquire's) aborts with whatever reason the caller gave, which is rethrown.
 */
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { durationFromMs, durationMs, timestampDate, timestampMs } from "@bufbuild/protobuf/wkt";
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import {
  Conflict, CoordinatorError, InvalidArgument, NotFound, ThreadBusy, ThreadlockError, Unavailable, fromRpc,
} from "./errors.js";
import {
  AcquireRequestSchema, CloseSessionRequestSchema, KeepAliveRequestSchema,
  OpenSessionRequestSchema, ReleaseRequestSchema, StatusRequestSchema,
} from "./gen/threadlock/v1/lock_pb.js";
import type { AcquireRequest, Busy, KeepAliveRequest, Lease, LockState } from "./gen/threadlock/v1/lock_pb.js";
import { RpcFailure, type Method, type Methods, type RpcTransport } from "./rpc.js";
import { LeaseState, marginOf } from "./state.js";
import { now, sleep } from "./time.js";

/** The reason a background flow's stop signal aborts with. */
export class Stopped extends Error {
  constructor() {
    super("stopped");
    this.name = "Stopped";
  }
}

/** The transport and which address is in use (failover moves it). */
export class Link {
  readonly transport: RpcTransport;
  current = 0;

  constructor(transport: RpcTransport) {
    this.transport = transport;
  }

  rotate(): void {
    this.current = (this.current + 1) % this.transport.count;
  }
}

export interface CallOptions {
  /** An Acquire whose `wait` shrinks on each retry so the whole call ends by the deadline. */
  waitUntil?: number;
  signal?: AbortSignal | undefined;
}

/**
 * One RPC, failing over between addresses on UNAVAILABLE (or a hung address: an attempt past
 * its share of the budget) until `deadline` (monotonic ms).
 */
export async function call<M extends Method>(link: Link, method: M, request: Methods[M][0],
  deadline: number, options: CallOptions = {}): Promise<Methods[M][1]> {
  const { waitUntil, signal } = options;
  const count = link.transport.count;
  let tried = 0;
  let last = "no attempt";
  for (;;) {
    signal?.throwIfAborted();
    const left = deadline - now();
    if (left <= 0) {
      throw new Unavailable("UNAVAILABLE", `${method}: no coordinator answered in time (${last})`);
    }
    let waiting = 0;
    if (waitUntil !== undefined) {
      waiting = Math.max(waitUntil - now(), 0);
      (request as AcquireRequest).wait = durationFromMs(Math.round(waiting));
    }
    // With several addresses, a hung one must not eat the whole budget: an attempt gets half
    // of what is left (a queued Acquire needs its whole wait, though).
    const attempt = count === 1 || waiting > 0 ? left : Math.max(left / 2, Math.min(left, 1000));
    try {
      return await link.transport.call(method, request, link.current, attempt, signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (!(error instanceof RpcFailure)) throw error;
      const hung = error.code === "DEADLINE_EXCEEDED" && attempt < left;
      if (error.code !== "UNAVAILABLE" && !hung) throw fromRpc(error.code, error.details);
      last = error.details;
    }
    tried += 1;
    link.rotate();
    if (tried % count === 0) { // every address failed once: back off, within budget
      const pause = Math.min(100 * 2 ** Math.floor(tried / count), 2000, deadline - now());
      if (pause > 0 && await sleep(pause, signal)) throw signal?.reason;
    }
  }
}

/** One logical acquire; its request_id stays the same across every retry. */
export interface HoldSpec {
  key: string;
  owner: string;
  ttl: number; // ms
  wait: number; // ms
  requestId: string;
  metadata: Record<string, string>;
  sessionId: string;
}

/** The Acquire for a hold (its `wait` is set per attempt by `call`). */
export function acquireRequest(spec: HoldSpec): AcquireRequest {
  return create(AcquireRequestSchema, {
    key: spec.key, owner: spec.owner, requestId: spec.requestId, metadata: spec.metadata,
    sessionId: spec.sessionId,
    // a session's lock lives on the session's TTL
    ...(spec.sessionId ? {} : { ttl: durationFromMs(Math.round(spec.ttl)) }),
  });
}

/**
 * One acquisition as a caller tracks it. `spec` is the request last sent: `acquire` may
 * replace it (a new request_id, see there), and `abandon` must clean up that one.
 * `ownRequestId`: the SDK made the request_id up, so it may make another; a caller's own
 * request_id is the caller's to retry.
 */
export interface Acquiring {
  spec: HoldSpec;
  ownRequestId: boolean;
  /**
   * Of the grant `acquire` returned: when it lapses at the earliest, monotonic ms (sent + the
   * coordinator's validFor), or undefined from a coordinator without validFor.
   */
  expires?: number | undefined;
}

/**
 * The most new request_ids one acquisition makes after ABORTED answers: each normally costs a
 * queued lease's TTL, so the caller's `wait` ends first; this only bounds a misbehaving server.
 */
export const MAX_REQUEST_IDS = 20;

/**
 * Acquire `spec.key` or throw ThreadBusy. Retries keep one request_id: never two grants.
 *
 * ABORTED ("the queued lease ... expired while waiting", or its place taken over) ends that
 * request_id's attempt without a grant; it happens when the replica that kept the queued lease
 * alive paused or died. For an SDK-made request_id the caller never sees it: the old
 * request_id is cleaned up (`abandon`, in case another attempt of it is still alive) and the
 * SDK queues again with a new one, within what is left of the caller's `wait`; if the wait ran
 * out meanwhile, it tries once more (wait 0), so the caller gets a grant or ThreadBusy, the
 * answers a `wait` promises.
 *
 * A grant that arrives after its lease may have lapsed (the answer came later than the
 * coordinator's `validFor` allows: this process was paused, the network slow) is never handed
 * out: it is released, and the SDK acquires again as after ABORTED, because its fencing token
 * may already be older than a later holder's. A caller's own request_id gets Conflict (ABORTED).
 */
export async function acquire(link: Link, spec: HoldSpec | Acquiring, callTimeout: number,
  signal?: AbortSignal): Promise<Lease> {
  const acq: Acquiring = "spec" in spec ? spec : { spec, ownRequestId: false };
  const waitUntil = now() + acq.spec.wait;
  for (let renewed = 0; ; renewed += 1) {
    let resp;
    const sent = now();
    try {
      resp = await call(link, "acquire", acquireRequest(acq.spec),
        Math.max(waitUntil, sent) + callTimeout, { waitUntil, signal });
    } catch (error) {
      // Only an attempt that queued (sent within the wait) is re-sent: a try-once after the
      // wait cannot have lost a queued lease, so its ABORTED is not ours to hide.
      if (!(error instanceof Conflict) || error.code !== "ABORTED" || !acq.ownRequestId
        || sent >= waitUntil || renewed >= MAX_REQUEST_IDS) throw error;
      await abandon(link, acq.spec, callTimeout, signal);
      signal?.throwIfAborted();
      acq.spec = { ...acq.spec, requestId: randomUUID() };
      continue;
    }
    if (resp.result.case === "busy") throw busyError(acq.spec.key, resp.result.value);
    if (resp.result.case !== "lease") {
      throw new CoordinatorError("UNKNOWN", "Acquire answered neither a lease nor busy");
    }
    const lease = resp.result.value;
    acq.expires = lease.validFor ? sent + durationMs(lease.validFor) : undefined;
    const ttl = lease.ttl ? durationMs(lease.ttl) : 0;
    if (acq.expires === undefined || now() < acq.expires - marginOf(ttl)) return lease;
    console.warn(`threadlock: acquire of ${JSON.stringify(acq.spec.key)}: the grant (fencing token`
      + ` ${lease.fencingToken}) arrived after its lease may have lapsed; releasing it and`
      + " acquiring again");
    await release(link, lease.leaseToken, callTimeout).catch((error: unknown) => {
      if (!(error instanceof ThreadlockError)) throw error;
      return null; // best effort: the lease lapses by itself
    });
    if (!acq.ownRequestId || renewed >= MAX_REQUEST_IDS) {
      throw new Conflict("ABORTED", `the grant of ${JSON.stringify(acq.spec.key)} arrived after`
        + " its lease may have lapsed (this process or the network was too slow); it was"
        + " released: acquire again with a new request_id");
    }
    signal?.throwIfAborted();
    acq.spec = { ...acq.spec, requestId: randomUUID() };
  }
}

/**
 * Renew `state` every ttl/3 until `stop` aborts. It is lost when the coordinator refuses
 * (NOT_FOUND), or when no renewal got through before the lease would lapse.
 */
export async function keep(link: Link, state: LeaseState, request: KeepAliveRequest,
  callTimeout: number, stop: AbortSignal): Promise<void> {
  while (state.reason() === null) {
    if (await sleep(state.dueIn(), stop, false)) return;
    const sent = now();
    try {
      const resp = await call(link, "keepAlive", request,
        Math.min(state.expires - state.margin, sent + callTimeout), { signal: stop });
      state.renewed(sent, resp.ttl ? durationMs(resp.ttl) : state.ttl);
    } catch (error) {
      if (stop.aborted) return; // released meanwhile: the answer is for a renewal not needed
      if (error instanceof NotFound || error instanceof InvalidArgument) {
        state.lose(`the coordinator refused to renew it (${error.details})`);
      } else if (error instanceof CoordinatorError) { // transient (unavailable, overloaded)
        if (now() >= state.expires - state.margin) {
          state.lose(`no renewal got through before its TTL lapsed (${error.details})`);
        } else if (await sleep(Math.min(200, Math.max(state.expires - state.margin - now(), 0)),
          stop, false)) {
          return;
        }
      } else {
        throw error;
      }
    }
  }
}

export function keepAliveRequest(token: string, session: boolean,
  metadata: Record<string, string> = {}): KeepAliveRequest {
  return create(KeepAliveRequestSchema, {
    target: session ? { case: "sessionId", value: token } : { case: "leaseToken", value: token },
    metadata,
  });
}

/** Merge `metadata` into the held lock (Status shows it); renews it as a side effect. */
export async function annotate(link: Link, state: LeaseState, metadata: Record<string, string>,
  callTimeout: number): Promise<void> {
  state.check();
  const sent = now();
  try {
    const resp = await call(link, "keepAlive", keepAliveRequest(state.token, false, metadata),
      sent + callTimeout);
    if (state.parent === null && resp.ttl) state.renewed(sent, durationMs(resp.ttl));
  } catch (error) {
    if (error instanceof NotFound) {
      state.lose(`the coordinator no longer knows it (${error.details})`);
      state.check();
    }
    throw error;
  }
}

/**
 * Give the lock back: true if released now, false if released before, null if the
 * coordinator says the token holds nothing (it expired or was taken from us: a loss).
 */
export async function release(link: Link, token: string, timeout: number,
  signal?: AbortSignal): Promise<boolean | null> {
  try {
    const resp = await call(link, "release", create(ReleaseRequestSchema, { leaseToken: token }),
      now() + timeout, { signal });
    return resp.released;
  } catch (error) {
    if (error instanceof NotFound) return null;
    throw error;
  }
}

/**
 * After an Acquire that got no answer (unavailable, timed out, aborted), make sure it left no
 * lock behind: the same request_id, try-once, returns the grant if one landed; release it.
 * Only for a request_id the SDK made up: nobody else can be retrying it. Best effort and
 * bounded; a queued slot is removed by the coordinator itself.
 */
export async function abandon(link: Link, spec: HoldSpec, timeout: number,
  stop?: AbortSignal): Promise<void> {
  const deadline = now() + timeout;
  try {
    const resp = await call(link, "acquire", acquireRequest({ ...spec, wait: 0 }), deadline,
      { signal: stop });
    if (resp.result.case === "lease") {
      await release(link, resp.result.value.leaseToken, Math.max(deadline - now(), 500), stop);
    }
  } catch (error) {
    if (!(error instanceof ThreadlockError || error instanceof Stopped)) throw error;
  }
}

/**
 * Whether the session really ended (an Acquire's NOT_FOUND may also mean that only its queue
 * slot's lease was lost): ask with a KeepAlive, which renews it if it lives.
 */
export async function sessionGone(link: Link, session: LeaseState, timeout: number):
Promise<boolean> {
  try {
    await call(link, "keepAlive", keepAliveRequest(session.token, true), now() + timeout);
  } catch (error) {
    if (error instanceof NotFound) {
      session.lose(`the coordinator says it ended (${error.details})`);
      return true;
    }
    if (error instanceof ThreadlockError) return false;
    throw error;
  }
  return false;
}

/**
 * A session lock whose Release failed would be renewed with its session forever: keep
 * trying (backing off) until it is released, or the session ends, or `stop` aborts.
 */
export async function releaseUntilDone(link: Link, token: string, session: LeaseState,
  timeout: number, stop: AbortSignal): Promise<void> {
  let pause = 500;
  while (session.reason() === null) {
    try {
      await release(link, token, timeout, stop);
      return;
    } catch (error) {
      if (stop.aborted) return;
      if (!(error instanceof CoordinatorError)) throw error;
      console.warn(`threadlock: releasing a lock of ${session.key} failed again (${error.message});`
        + " retrying");
    }
    if (await sleep(pause, stop, false)) return;
    pause = Math.min(pause * 2, 10_000);
  }
}

export async function openSession(link: Link, owner: string, ttl: number,
  callTimeout: number): Promise<LeaseState> {
  const sent = now();
  const resp = await call(link, "openSession", create(OpenSessionRequestSchema, {
    owner, ttl: durationFromMs(Math.round(ttl)),
  }), sent + callTimeout);
  const granted = resp.ttl ? durationMs(resp.ttl) : ttl;
  return new LeaseState(`session of ${owner}`, resp.sessionId, 0n, granted, sent + granted);
}

export async function closeSession(link: Link, sessionId: string, timeout: number):
Promise<boolean> {
  const resp = await call(link, "closeSession",
    create(CloseSessionRequestSchema, { sessionId }), now() + timeout);
  return resp.closed;
}

/** Every lock of `key`, or of keys starting with `prefix`, all pages. */
export async function status(link: Link, selector: { key: string } | { prefix: string },
  callTimeout: number): Promise<LockState[]> {
  const locks: LockState[] = [];
  let pageToken = "";
  do {
    const resp = await call(link, "status", create(StatusRequestSchema, {
      pageSize: 500, pageToken,
      selector: "key" in selector ? { case: "key", value: selector.key }
        : { case: "prefix", value: selector.prefix },
    }), now() + callTimeout);
    locks.push(...resp.locks);
    pageToken = resp.nextPageToken;
  } while (pageToken);
  return locks;
}

/**
 * The state of a fresh grant. `expires`: from the coordinator's validFor (see `acquire`),
 * skew-free and right even for a late answer; at most a TTL from now. Without it (an older
 * coordinator), the server's expires_at is read against our wall clock, clamped to [ttl/2, ttl]
 * so that clock skew can neither declare it lost at once nor let it look longer than a TTL.
 * With less than 2/3 left, the first renewal goes at once.
 */
export function stateOf(lease: Lease, parent: LeaseState | null, expires?: number): LeaseState {
  const ttl = lease.ttl ? durationMs(lease.ttl) : 0;
  let until = expires;
  if (until === undefined) {
    const left = lease.expiresAt ? timestampMs(lease.expiresAt) - Date.now() : ttl;
    until = now() + Math.min(Math.max(left, ttl / 2), ttl);
  }
  return new LeaseState(lease.key, lease.leaseToken, lease.fencingToken, ttl,
    Math.min(until, now() + ttl), parent);
}

export function busyError(key: string, busy: Busy): ThreadBusy {
  const h = busy.holder;
  const message = busy.message
    || `${key} is busy with another request. Please wait for it to finish and try again.`;
  return new ThreadBusy(key, message, {
    holder: h?.owner ?? "", holderSince: date(h?.acquiredAt), holderUntil: date(h?.expiresAt),
    waiters: busy.waiters, fencingToken: h?.fencingToken ?? 0n, metadata: { ...h?.metadata },
    waited: seconds(busy.waited),
  });
}

export function seconds(d: Duration | undefined): number {
  return d ? durationMs(d) / 1000 : 0;
}

export function date(ts: Timestamp | undefined): Date | null {
  return ts && (ts.seconds !== 0n || ts.nanos !== 0) ? timestampDate(ts) : null;
}

export { LeaseState };

/** A plain bounded pause (ms) for callers outside a flow. */
export async function sleepFor(ms: number): Promise<void> {
  await sleep(ms, undefined, false); // never keeps a closing process alive
}
