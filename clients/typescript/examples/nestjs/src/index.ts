export { ThreadLockModule } from "./thread-lock.module.js";
export { ThreadLockService, type ChatAnswer, type ThreadStatus } from "./thread-lock.service.js";
export { BUSY_MESSAGE, THREADLOCK_OPTIONS, type ThreadLockOptions } from "./thread-lock.options.js";
