/**
 * ThreadLockService: the seed's OpenAiService locking, method for method, on threadlock.
 *
 *   seed (one process's Map)              here (the coordinator: every process and replica)
 *   lockThread(threadId, op)              lockThread(threadId, op): released in `finally`
 *   isThreadActive(threadId)              isBusy(threadId): Status of the thread's lock
 *   (none)                                acquire(threadId) / release(lease), or `await using`
 *   checkAndWaitForActiveRuns(threadId)   the same, under the thread's lock, bounded, orphans
 *                                         cancelled
 *   getActiveThreadsStatus()              the same, from Status: holder, since, run id
 *   chat / chatWithImage / chatWithFile   the same, through the OpenAI guard; a busy thread
 *                                         answers the seed's message
 */
import { Inject, Injectable, type OnModuleDestroy } from "@nestjs/common";
import { LockClient, ThreadBusy, type Lease } from "@threadlock/client";
import { guardOpenAI, type GuardedOpenAI } from "@threadlock/client/openai";
import type OpenAI from "openai";
import { BUSY_MESSAGE, THREADLOCK_OPTIONS, type ThreadLockOptions } from "./thread-lock.options.js";

/** What the seed's chat methods answer: the assistant's text and the files of its reply. */
export interface ChatAnswer {
  text: string;
  files: string[];
}

export interface ThreadStatus {
  threadId: string;
  isActive: boolean;
  /** Who holds it ("api-2@pod-b"), since when, and the run in flight if the guard noted one. */
  holder: string;
  since: Date | null;
  runId: string | null;
}

@Injectable()
export class ThreadLockService implements OnModuleDestroy {
  readonly locks: LockClient;
  readonly guarded: GuardedOpenAI & OpenAI;
  readonly #options: ThreadLockOptions;

  constructor(@Inject(THREADLOCK_OPTIONS) options: ThreadLockOptions) {
    this.#options = options;
    this.locks = new LockClient(options.coordinator);
    this.guarded = guardOpenAI(options.openai, this.locks, { wait: 0, ...options.guard });
  }

  /** The lock key of a thread: the guard's, so both see one lock. */
  key(threadId: string): string {
    return this.guarded.options.keyPrefix + threadId;
  }

  /** Take the thread's lock (throws ThreadBusy naming the holder when busy past `wait`). */
  acquire(threadId: string, options: { wait?: number; signal?: AbortSignal } = {}): Promise<Lease> {
    const { ttl, wait } = this.guarded.options;
    return this.locks.acquire(this.key(threadId), { ttl, wait, ...options });
  }

  /** Give the lock back; false if it was released (or lost) before. */
  release(lease: Lease): Promise<boolean> {
    return lease.release();
  }

  /** Whether someone (any process) holds the thread now. */
  async isBusy(threadId: string): Promise<boolean> {
    const [state] = await this.locks.status({ key: this.key(threadId) });
    return Boolean(state?.holder);
  }

  /**
   * Run `operation` holding the thread, as the seed's lockThread: a busy thread throws
   * ThreadBusy at once (wait 0 by default); the lock is released in `finally`; LeaseLost if it
   * was lost meanwhile (`lease.signal` aborted the OpenAI calls given it).
   */
  lockThread<T>(threadId: string, operation: (lease: Lease) => Promise<T>): Promise<T> {
    const { ttl, wait } = this.guarded.options;
    return this.locks.withLock(this.key(threadId), { ttl, wait }, operation);
  }

  /** The seed's checkAndWaitForActiveRuns: returns once no run is active on the thread. */
  checkAndWaitForActiveRuns(threadId: string): Promise<void> {
    return this.guarded.waitForActiveRuns(threadId);
  }

  /** Every thread held now, by any process, from the coordinator's Status. */
  async getActiveThreadsStatus(): Promise<ThreadStatus[]> {
    const prefix = this.guarded.options.keyPrefix;
    const states = await this.locks.status({ prefix });
    return states.filter((s) => s.holder !== null).map((s) => ({
      threadId: s.key.slice(prefix.length),
      isActive: true,
      holder: s.holder?.owner ?? "",
      since: s.holder?.acquiredAt ?? null,
      runId: s.holder?.metadata.run_id ?? null,
    }));
  }

  chat(threadId: string, message: string): Promise<ChatAnswer> {
    return this.#send(threadId, message, {});
  }

  /** `image`: an http(s)/data: URL or an uploaded file id. */
  chatWithImage(threadId: string, message: string, image: string): Promise<ChatAnswer> {
    return this.#send(threadId, message, { images: [image] });
  }

  /** `fileId`: an uploaded file, attached for file_search. */
  chatWithFile(threadId: string, message: string, fileId: string): Promise<ChatAnswer> {
    return this.#send(threadId, message, { files: [fileId] });
  }

  async onModuleDestroy(): Promise<void> {
    await this.locks.close();
  }

  async #send(threadId: string, message: string,
    extra: { images?: string[]; files?: string[] }): Promise<ChatAnswer> {
    try {
      const reply = await this.guarded.send(threadId, message, this.#options.assistantId, extra);
      const files = (reply.message?.attachments ?? []).flatMap((a) => (a.file_id ? [a.file_id] : []));
      return { text: reply.text, files };
    } catch (error) {
      if (error instanceof ThreadBusy) {
        return { text: this.#options.busyMessage ?? BUSY_MESSAGE, files: [] };
      }
      throw error;
    }
  }
}
