/**
 * Errors of the threadlock SDK, and the one function that maps coordinator failures onto them.
 *
 *     ThreadlockError            root: catch this to catch everything the SDK throws
 *     ├── ThreadBusy             the key is held by someone else (holder, since, until, queue)
 *     ├── LeaseLost              a lease you held ended: renewal refused, or unreachable past TTL
 *     ├── ConversationLocked     OpenAI kept refusing the conversation/thread under our lease
 *     └── CoordinatorError       a call to the coordinator failed (.code, .details)
 *         ├── InvalidArgument    a request field is malformed (the message names it: .field)
 *         ├── NotFound           a lease token or session that does not exist (any more)
 *         ├── Conflict           a request_id reused (FAILED_PRECONDITION) or superseded (ABORTED)
 *         └── Unavailable        no coordinator answered in time (UNAVAILABLE, DEADLINE_EXCEEDED)
 *
 * Same tree and same mapping as the Python SDK (threadlock_client/errors.py). Arguments the
 * SDK refuses before any call are the platform's TypeError / RangeError, as in Node itself.
 */

/** gRPC status code names, as the coordinator sends them (and as Python's `code.name`). */
export type StatusName =
  | "CANCELLED" | "UNKNOWN" | "INVALID_ARGUMENT" | "DEADLINE_EXCEEDED" | "NOT_FOUND"
  | "ALREADY_EXISTS" | "PERMISSION_DENIED" | "RESOURCE_EXHAUSTED" | "FAILED_PRECONDITION"
  | "ABORTED" | "OUT_OF_RANGE" | "UNIMPLEMENTED" | "INTERNAL" | "UNAVAILABLE" | "DATA_LOSS"
  | "UNAUTHENTICATED";

/** Root of every error the SDK throws; each subclass's `name` is its class name. */
export class ThreadlockError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export interface BusyInfo {
  holder?: string;
  holderSince?: Date | null;
  holderUntil?: Date | null;
  waiters?: number;
  fencingToken?: bigint;
  metadata?: Record<string, string>;
  waited?: number;
}

/** The key is held by someone else; `message` is fit to show to a user. */
export class ThreadBusy extends ThreadlockError {
  readonly key: string;
  /** The holder's owner string ("worker-3@pod-a"); "" if the coordinator named none. */
  readonly holder: string;
  readonly holderSince: Date | null;
  readonly holderUntil: Date | null;
  /** Callers queued for the key, not counting the holder. */
  readonly waiters: number;
  /** The holder's fencing token. */
  readonly fencingToken: bigint;
  readonly metadata: Record<string, string>;
  /** Seconds this call queued before giving up (0 for a try-once call). */
  readonly waited: number;

  constructor(key: string, message: string, info: BusyInfo = {}) {
    super(message);
    this.key = key;
    this.holder = info.holder ?? "";
    this.holderSince = info.holderSince ?? null;
    this.holderUntil = info.holderUntil ?? null;
    this.waiters = info.waiters ?? 0;
    this.fencingToken = info.fencingToken ?? 0n;
    this.metadata = info.metadata ?? {};
    this.waited = info.waited ?? 0;
  }
}

/**
 * The lease on `key` ended while the code it protected was running. Stop that work: someone
 * else may hold the key now (their fencing token is higher than `fencingToken`).
 */
export class LeaseLost extends ThreadlockError {
  readonly key: string;
  readonly fencingToken: bigint;
  readonly reason: string;

  constructor(key: string, fencingToken: bigint, reason: string) {
    super(`lost the lock on ${JSON.stringify(key)} (fencing token ${fencingToken}): ${reason}`);
    this.key = key;
    this.fencingToken = fencingToken;
    this.reason = reason;
  }
}

/**
 * OpenAI kept answering that the conversation (or thread) is busy although we held its lock:
 * some writer bypasses the coordinator, or a run outlived its holder.
 */
export class ConversationLocked extends ThreadlockError {
  readonly target: string;
  readonly detail: string;

  constructor(target: string, detail: string) {
    super(`${target} stayed busy at OpenAI while we held its lock: ${detail}`);
    this.target = target;
    this.detail = detail;
  }
}

/** A coordinator call failed; `code` is the gRPC status code name ("NOT_FOUND"). */
export class CoordinatorError extends ThreadlockError {
  readonly code: StatusName;
  readonly details: string;

  constructor(code: StatusName, details: string) {
    super(`${code}: ${details}`);
    this.code = code;
    this.details = details;
  }
}

export class InvalidArgument extends CoordinatorError {
  /** The request field the coordinator named ("ttl: must be ..." -> "ttl"). */
  get field(): string {
    const colon = this.details.indexOf(":");
    return colon < 0 ? this.details : this.details.slice(0, colon);
  }
}

export class NotFound extends CoordinatorError {}

export class Conflict extends CoordinatorError {}

export class Unavailable extends CoordinatorError {}

const BY_CODE: Partial<Record<StatusName, new (code: StatusName, details: string) => CoordinatorError>> = {
  INVALID_ARGUMENT: InvalidArgument,
  NOT_FOUND: NotFound,
  FAILED_PRECONDITION: Conflict,
  ABORTED: Conflict,
  UNAVAILABLE: Unavailable,
  DEADLINE_EXCEEDED: Unavailable,
};

/** The SDK error for a failed RPC (the one mapping; everything else uses it). */
export function fromRpc(code: StatusName, details: string): CoordinatorError {
  const Class = BY_CODE[code] ?? CoordinatorError;
  return new Class(code, details || code);
}
