/**
 * ThreadLockModule: provides ThreadLockService, the seed's per-thread locking (acquire, release,
 * isBusy, checkAndWaitForActiveRuns, getActiveThreadsStatus, chat*) on a threadlock coordinator
 * instead of an in-process Map, so it holds across processes and replicas.
 *
 *     @Module({ imports: [ThreadLockModule.forRoot({ coordinator: { addresses: "lock:50051" },
 *       openai: new OpenAI(), assistantId: "asst_..." })] })
 *     export class AppModule {}
 */
import { Module, type DynamicModule } from "@nestjs/common";
import { THREADLOCK_OPTIONS, type ThreadLockOptions } from "./thread-lock.options.js";
import { ThreadLockService } from "./thread-lock.service.js";

// Nest's shape for a configurable module: a decorated class with a static forRoot().
@Module({})
// eslint-disable-next-line @typescript-eslint/no-extraneous-class
export class ThreadLockModule {
  static forRoot(options: ThreadLockOptions): DynamicModule {
    return {
      module: ThreadLockModule,
      providers: [{ provide: THREADLOCK_OPTIONS, useValue: options }, ThreadLockService],
      exports: [ThreadLockService],
    };
  }
}
