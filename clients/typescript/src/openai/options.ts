/**
 * GuardOptions: how guarded OpenAI calls behave, in seconds like the rest of the SDK and with
 * the Python guard's defaults (threadlock_client/guard/_flows.py GuardOptions).
 */

export interface GuardOptions {
  /** Lease TTL in seconds (default 30); renewed every ttl/3 while a call runs. */
  ttl?: number;
  /** Seconds to queue for a busy conversation/thread (default 60; 0 = fail fast with ThreadBusy). */
  wait?: number;
  /** Lock key = keyPrefix + conversation or thread id (default "openai/", as in Python). */
  keyPrefix?: string;
  /** Seconds to retry OpenAI's own "busy" 400 under the lease before ConversationLocked (60). */
  busyTimeout?: number;
  /** Seconds to wait for runs already active on a thread before ConversationLocked (600). */
  activeRunTimeout?: number;
  /**
   * Cancel active runs older than this many seconds (default 60; null: never). Guarded holders
   * wait for their runs before releasing, so a run still active when we hold the lock was left
   * by a holder that crashed (or by a writer that bypasses the coordinator).
   */
  orphanRunAge?: number | null;
  /** Seconds between polls of background responses and runs (default 0.5). */
  pollInterval?: number;
}

/** GuardOptions with defaults applied, in seconds. */
export type GuardSettings = Required<GuardOptions>;

export const DEFAULTS: GuardSettings = {
  ttl: 30, wait: 60, keyPrefix: "openai/", busyTimeout: 60, activeRunTimeout: 600,
  orphanRunAge: 60, pollInterval: 0.5,
};

/** Seconds a best-effort cancel on the way out may take. */
export const CANCEL_TIMEOUT = 10;

function seconds(name: string, value: unknown, zeroOk: boolean): void {
  if (typeof value !== "number") throw new TypeError(`${name}: must be a number of seconds, got ${typeof value}`);
  if (!Number.isFinite(value) || value < 0 || (!zeroOk && value === 0)) {
    throw new RangeError(`${name}: must be a ${zeroOk ? "non-negative" : "positive"} number of seconds, got ${value}`);
  }
}

/** `base` changed by `changes`, checked (the option's name first, as everywhere in the SDK). */
export function guardSettings(base: GuardSettings, changes: GuardOptions = {}): GuardSettings {
  const out: GuardSettings = { ...base };
  for (const [name, value] of Object.entries(changes) as [keyof GuardOptions, unknown][]) {
    if (value === undefined) continue;
    if (!(name in DEFAULTS)) throw new TypeError(`${name}: not a guard option`);
    if (name === "keyPrefix") {
      if (typeof value !== "string") throw new TypeError("keyPrefix: must be a string");
      out.keyPrefix = value;
    } else if (name === "orphanRunAge" && value === null) {
      out.orphanRunAge = null;
    } else {
      seconds(name, value, name === "wait" || name === "orphanRunAge");
      (out as unknown as Record<string, number>)[name] = value as number;
    }
  }
  return out;
}
