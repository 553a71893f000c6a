/**
 * @threadlock/client/openai: the OpenAI guard for the `openai` npm package (7.x). Guarded
 * calls run under the lock of their conversation (Responses) or thread (Assistants), with the
 * Python guard's policy: background responses and runs polled to the end under the lease,
 * streams holding it until they end, OpenAI's busy 400 retried under the lease, active runs
 * waited out and orphans cancelled, `lease.signal` passed to every request.
 */
export { guardOpenAI, GuardedOpenAI, GuardedMessages, GuardedResponses, GuardedRuns } from "./guard.js";
export { GuardedStream } from "./stream.js";
export type { GuardOptions, GuardSettings } from "./options.js";
export type { Reply, SendOptions } from "./policy.js";
export { busyAtOpenAI } from "./policy.js";
