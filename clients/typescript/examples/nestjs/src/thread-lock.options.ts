/** What ThreadLockModule.forRoot() takes, and the injection token it provides it under. */
import type { LockClientOptions } from "@threadlock/client";
import type { GuardOptions } from "@threadlock/client/openai";
import type OpenAI from "openai";

export const THREADLOCK_OPTIONS = Symbol("THREADLOCK_OPTIONS");

/** The seed's answer when a thread is busy (shown to the user as it is). */
export const BUSY_MESSAGE = "⏳ Тред уже занят другим запросом. Пожалуйста, дождитесь завершения предыдущего запроса.";

export interface ThreadLockOptions {
  /** The coordinator(s) and this service's owner name, as for new LockClient(). */
  coordinator: LockClientOptions;
  /** The app's OpenAI client (its calls on threads go through the guard). */
  openai: OpenAI;
  /** The assistant chat / chatWithImage / chatWithFile run. */
  assistantId: string;
  /**
   * The guard's options. `wait` defaults to 0 here: like the seed, a busy thread answers
   * BUSY_MESSAGE at once instead of queuing.
   */
  guard?: GuardOptions;
  /** Overrides BUSY_MESSAGE. */
  busyMessage?: string;
}
