/**
 * The SDK's clocks. Deadlines and lease expiries are reckoned on a monotonic clock in
 * milliseconds, so a wall-clock step (NTP) can neither expire a lease early nor keep a lost
 * one alive. Node has no suspend-aware monotonic clock (Linux BOOTTIME, which the Python SDK
 * uses); after a suspend the next renewal finds out from the coordinator instead.
 */
import { setTimeout as delay } from "node:timers/promises";

/** Monotonic milliseconds. */
export function now(): number {
  return performance.now();
}

/**
 * Sleep `ms`; answer true at once if `stop` aborts (or has aborted). Background renewals
 * sleep with `ref: false`: a lease alone never keeps a process alive that has nothing else
 * to do; a caller's own call (a backoff between retries) keeps it alive.
 */
export async function sleep(ms: number, stop?: AbortSignal, ref = true): Promise<boolean> {
  if (stop?.aborted) return true;
  try {
    await delay(Math.max(ms, 0), undefined, { signal: stop, ref });
    return false;
  } catch (error) {
    if (stop?.aborted) return true;
    throw error;
  }
}

/** Seconds (the API's unit) to milliseconds. */
export function ms(seconds: number): number {
  return seconds * 1000;
}
