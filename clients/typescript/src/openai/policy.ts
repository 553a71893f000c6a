/**
 * What the OpenAI guard does under a lease: the one policy module (guard.ts and stream.ts are
 * its thin wrappers). It mirrors the Python guard (threadlock_client/guard/_flows.py) rule for
 * rule, enforcing OpenAI's own concurrency rules, which answer HTTP 400:
 * - Responses: one request at a time per conversation ("conversation_locked"). A background
 *   response keeps the conversation busy until it is terminal, so it is polled under the
 *   lease. If OpenAI still answers conversation_locked (a writer that bypasses the coordinator,
 *   or a response left by a crashed holder), wait and retry, bounded, then ConversationLocked.
 * - Assistants: one active run per thread, no messages while it runs. Before adding a message
 *   or creating a run, wait for active runs (queued, in_progress, requires_action, cancelling),
 *   bounded; a run older than `orphanRunAge` was left by a crashed holder and is cancelled.
 * Every OpenAI request gets the step's `signal` (the lease's, joined with the caller's), so a
 * lost lease aborts the request in flight.
 */
// Wrapping the Assistants API (deprecated by OpenAI, still shipped by openai-node) is the point.
/* eslint-disable @typescript-eslint/no-deprecated */
import { setTimeout as sleep } from "node:timers/promises";
import type OpenAI from "openai";
import { ConversationLocked, CoordinatorError } from "../errors.js";
import type { Lease } from "../lease.js";
import { CANCEL_TIMEOUT, type GuardSettings } from "./options.js";

export const TERMINAL_RESPONSE: ReadonlySet<string> = new Set(["completed", "failed", "cancelled", "incomplete"]);
export const ACTIVE_RUN: ReadonlySet<string> = new Set(["queued", "in_progress", "requires_action", "cancelling"]);

type Response = OpenAI.Responses.Response;
type Run = OpenAI.Beta.Threads.Runs.Run;
type Message = OpenAI.Beta.Threads.Messages.Message;

/** One guarded step: the caller's client, the lease held, the options, the signal to pass. */
export interface Step {
  readonly client: OpenAI;
  readonly lease: Lease;
  readonly opts: GuardSettings;
  /** lease.signal, joined with the caller's own signal if it gave one. */
  readonly signal: AbortSignal;
}

/** OpenAI's answer for a conversation or thread that is busy (HTTP 400). */
export function busyAtOpenAI(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const e = error as { status?: unknown; code?: unknown; message?: unknown };
  if (e.status !== 400) return false;
  const message = typeof e.message === "string" ? e.message : "";
  return e.code === "conversation_locked" || message.includes("already has an active run")
    || message.includes("while a run");
}

/** The conversation id of a responses.create body: the lock key. */
export function conversationOf(body: { conversation?: unknown }): string {
  let conv = body.conversation;
  if (typeof conv === "object" && conv !== null) conv = (conv as { id?: unknown }).id;
  if (typeof conv !== "string" || !conv) {
    throw new TypeError("conversation: a guarded responses.create needs the conversation id "
      + "(it is the lock key); use the plain client for stateless calls");
  }
  return conv;
}

/** A best-effort call on the way out: its failure must not hide the original error. */
export async function quietly(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch {
    // best effort: the caller is already failing (or giving the target up) for a reason
  }
}

/** Options of a clean-up request: it must run even though the lease (signal) is gone. */
export function cleanupOptions(): { signal: AbortSignal; maxRetries: number } {
  return { signal: AbortSignal.timeout(CANCEL_TIMEOUT * 1000), maxRetries: 0 };
}

/** Note what the holder is doing on its lock; best effort (a coordinator blip must not fail
 * the OpenAI call it describes; a lost lease still throws). */
export async function annotate(step: Step, metadata: Record<string, string>): Promise<void> {
  try {
    await step.lease.annotate(metadata);
  } catch (error) {
    if (!(error instanceof CoordinatorError)) throw error;
  }
}

/** Make `call`; while OpenAI says `target` is busy, wait (or run `beforeRetry`) and retry
 * under the lease, for at most busyTimeout. */
export async function retryBusy<T>(step: Step, target: string, call: () => Promise<T>,
  beforeRetry?: () => Promise<void>): Promise<T> {
  const deadline = performance.now() + step.opts.busyTimeout * 1000;
  let pause = 250;
  for (;;) {
    step.lease.check();
    try {
      return await call();
    } catch (error) {
      if (!busyAtOpenAI(error)) throw error;
      if (performance.now() + pause > deadline) {
        const message = (error as Error).message;
        throw new ConversationLocked(target, `${message} (retried for ${step.opts.busyTimeout}s)`,
        );
      }
    }
    if (beforeRetry) await beforeRetry();
    await sleep(pause, undefined, { signal: step.signal });
    pause = Math.min(pause * 2, 2000);
  }
}

// --- Responses + Conversations -----------------------------------------------------------------

/** responses.create (or .parse, by `create`); with background: true, poll it to a terminal
 * state and return that. */
export async function createResponse<R extends Response = Response>(step: Step,
  body: { conversation?: unknown; background?: boolean | null },
  create: (signal: AbortSignal) => Promise<R>): Promise<R | Response> {
  const conv = conversationOf(body);
  const { client, signal } = step;
  let resp: R | Response = await retryBusy(step, conv, () => create(signal));
  if (!body.background) return resp;
  try {
    await annotate(step, { response_id: resp.id });
    while (!TERMINAL_RESPONSE.has(resp.status ?? "")) {
      await sleep(step.opts.pollInterval * 1000, undefined, { signal });
      step.lease.check();
      resp = await client.responses.retrieve(resp.id, {}, { signal });
    }
  } catch (error) {
    // Giving the conversation up (a lost lease, the caller's abort, a failure): don't leave
    // our response running in it (it would answer conversation_locked to the next holder).
    const id = resp.id;
    await quietly(() => client.responses.cancel(id, cleanupOptions()));
    throw error;
  }
  return resp;
}

// --- Assistants (threads, messages, runs) ------------------------------------------------------

/** Return once no run is active on the thread; cancel orphans; bounded. */
export async function waitActiveRuns(step: Step, threadId: string): Promise<void> {
  const { client, signal, opts } = step;
  const deadline = performance.now() + opts.activeRunTimeout * 1000;
  const cancelled = new Set<string>();
  for (;;) {
    step.lease.check();
    const page = await client.beta.threads.runs.list(threadId, { limit: 20 }, { signal });
    const active = page.data.filter((r) => ACTIVE_RUN.has(r.status));
    const first = active[0];
    if (first === undefined) return;
    for (const run of active) {
      const age = Date.now() / 1000 - run.created_at;
      if (opts.orphanRunAge !== null && age > opts.orphanRunAge && run.status !== "cancelling"
        && !cancelled.has(run.id)) {
        cancelled.add(run.id); // left by a holder that crashed: nobody will finish it
        // It may have finished meanwhile ("Cannot cancel run with status ..."): fine.
        await quietly(() => client.beta.threads.runs.cancel(run.id, { thread_id: threadId }, { signal }));
      }
    }
    if (performance.now() > deadline) {
      throw new ConversationLocked(threadId,
        `run ${first.id} is still ${first.status} after ${opts.activeRunTimeout}s`);
    }
    await sleep(opts.pollInterval * 1000, undefined, { signal });
  }
}

export async function createMessage(step: Step, threadId: string,
  body: OpenAI.Beta.Threads.Messages.MessageCreateParams, options: OpenAI.RequestOptions): Promise<Message> {
  await waitActiveRuns(step, threadId);
  return retryBusy(step, threadId,
    () => step.client.beta.threads.messages.create(threadId, body, { ...options, signal: step.signal }),
    () => waitActiveRuns(step, threadId));
}

/**
 * Create a run once the thread is idle and poll it until it is terminal. A run that needs tool
 * outputs (requires_action) is returned as it is: outside `guarded.session(...)` the lock is
 * then released with the run still active, and the next holder waits for it (or cancels it
 * after orphanRunAge); do tool-calling inside a session.
 */
export async function runToEnd(step: Step, threadId: string,
  body: OpenAI.Beta.Threads.Runs.RunCreateParamsNonStreaming, options: OpenAI.RequestOptions): Promise<Run> {
  const { client, signal } = step;
  await waitActiveRuns(step, threadId);
  let run = await retryBusy(step, threadId,
    () => client.beta.threads.runs.create(threadId, body, { ...options, signal }),
    () => waitActiveRuns(step, threadId));
  try {
    await annotate(step, { run_id: run.id });
    while (ACTIVE_RUN.has(run.status) && run.status !== "requires_action") {
      await sleep(step.opts.pollInterval * 1000, undefined, { signal });
      step.lease.check();
      run = await client.beta.threads.runs.retrieve(run.id, { thread_id: threadId }, { signal });
    }
  } catch (error) { // giving the thread up: don't leave our run active on it
    const id = run.id;
    await quietly(() => client.beta.threads.runs.cancel(id, { thread_id: threadId }, cleanupOptions()));
    throw error;
  }
  return run;
}

/** What `send` returns: the assistant's text, the run, and its message (null if the run did
 * not complete). */
export interface Reply {
  text: string;
  run: Run;
  message: Message | null;
}

export interface SendOptions {
  /** File ids attached for file_search (the seeds' chatWithFile). */
  files?: readonly string[];
  /** Image URLs (http(s): or data:) or file ids (the seeds' chatWithImage). */
  images?: readonly string[];
  /** More fields of the run (instructions, model, ...). */
  run?: Omit<OpenAI.Beta.Threads.Runs.RunCreateParamsNonStreaming, "assistant_id">;
  /** Aborts the call (and cancels its run), like the lease being lost. */
  signal?: AbortSignal;
}

/** Add the user's message (text, images, files) and run it to completion, under one hold: the
 * seeds' chat / chatWithImage / chatWithFile. */
export async function send(step: Step, threadId: string, content: string, assistantId: string,
  options: SendOptions): Promise<Reply> {
  const parts: OpenAI.Beta.Threads.Messages.MessageContentPartParam[] = [{ type: "text", text: content }];
  for (const image of options.images ?? []) {
    parts.push(/^(https?:|data:)/.test(image)
      ? { type: "image_url", image_url: { url: image } }
      : { type: "image_file", image_file: { file_id: image } });
  }
  const message: OpenAI.Beta.Threads.Messages.MessageCreateParams = { role: "user", content: parts };
  const files = options.files ?? [];
  if (files.length > 0) {
    message.attachments = files.map((id) => ({ file_id: id, tools: [{ type: "file_search" as const }] }));
  }
  await createMessage(step, threadId, message, {});
  const run = await runToEnd(step, threadId, { ...options.run, assistant_id: assistantId }, {});
  if (run.status !== "completed") return { text: "", run, message: null };
  const page = await step.client.beta.threads.messages.list(threadId, { order: "desc", limit: 1 },
    { signal: step.signal });
  const reply = page.data.find((m) => m.role === "assistant") ?? null;
  const text = (reply?.content ?? []).map((p) => (p.type === "text" ? p.text.value : "")).join("");
  return { text, run, message: reply };
}
