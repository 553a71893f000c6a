/**
 * @threadlock/client: per-key locks with fencing tokens from a threadlock coordinator, for
 * Node services (OpenAI conversations and threads, or any key of your own).
 */
export { LockClient } from "./client.js";
export { Lease } from "./lease.js";
export type { AcquireOptions, LockClientOptions, TlsOptions } from "./options.js";
export type { HolderStatus, LockStatus, WaiterStatus } from "./status.js";
export {
  ConversationLocked, Conflict, CoordinatorError, InvalidArgument, LeaseLost, NotFound,
  ThreadBusy, ThreadlockError, Unavailable, fromRpc,
} from "./errors.js";
export type { BusyInfo, StatusName } from "./errors.js";
