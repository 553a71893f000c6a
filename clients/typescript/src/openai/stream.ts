/**
 * GuardedStream: an openai-node stream (Stream or AssistantStream) whose lease is held until
 * the stream ends, fails or is closed. A stream stopped early (break, close(), an abort, the
 * lease lost) is aborted and its response or run is cancelled at OpenAI, so it does not keep
 * the conversation/thread busy for the next holder.
 *
 *     await using stream = await guarded.responses.create({ conversation, input, stream: true });
 *     for await (const event of stream) { ... }   // the lease is released when it ends
 */

/** What of openai-node's Stream / AssistantStream the guard uses. */
export interface InnerStream<T> extends AsyncIterable<T> {
  controller: AbortController;
}

/**
 * A helper stream (ResponseStream, AssistantStream) whose iteration began before it connected:
 * they hand their iterator only the events emitted after it was asked for, so it is asked for
 * at once, and the guard may still wait for the connection (to retry a busy 400) first.
 */
export class Listening<T> implements InnerStream<T> {
  constructor(readonly stream: InnerStream<T>, readonly events: AsyncIterator<T>) {}

  get controller(): AbortController {
    return this.stream.controller;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.events;
  }
}

export interface StreamEnds {
  /** The signal the stream's request got (the lease's, joined with the caller's). */
  signal: AbortSignal;
  /** The response/run id an event carries, if any (to cancel it when stopped early). */
  idOf: (event: unknown) => string | null;
  /** Cancel that response/run at OpenAI (best effort, bounded). */
  cancel: (id: string) => Promise<unknown>;
  /** Release the hold; throws LeaseLost if the lease was lost meanwhile. */
  release: () => Promise<void>;
}

export class GuardedStream<T> implements AsyncIterable<T>, AsyncDisposable {
  /** The openai-node stream itself (its helpers, e.g. AssistantStream.finalRun()). */
  readonly inner: InnerStream<T>;
  readonly #events: AsyncIterable<T>;
  readonly #ends: StreamEnds;
  #id: string | null = null;
  #released = false;
  #started = false;

  /** @internal guard.ts makes them. */
  constructor(inner: InnerStream<T>, ends: StreamEnds) {
    this.inner = inner instanceof Listening ? (inner as Listening<T>).stream : inner;
    this.#events = inner;
    this.#ends = ends;
  }

  /** Aborts the HTTP request of the stream (like openai-node's Stream.controller). */
  get controller(): AbortController {
    return this.inner.controller;
  }

  /** The response or run id seen so far on the stream, or null. */
  get id(): string | null {
    return this.#id;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    if (this.#started) throw new TypeError("a guarded stream can be read once");
    this.#started = true;
    let finished = false;
    try {
      for await (const event of this.#events) {
        this.#id = this.#ends.idOf(event) ?? this.#id;
        yield event;
      }
      // openai-node ends an aborted stream quietly, as if it were complete: it is not.
      this.#ends.signal.throwIfAborted();
      finished = !this.inner.controller.signal.aborted;
    } finally {
      // Also when the caller stopped early (break, return()) or the stream failed: the
      // response must not go on streaming into the conversation after we let it go.
      try {
        if (!finished) await this.#abort();
      } finally {
        await this.#release(); // throws LeaseLost if the lease was lost meanwhile
      }
    }
  }

  /** Stop the stream (cancelling its response/run if unfinished) and release the lease. */
  async close(): Promise<void> {
    if (this.#released) return;
    try {
      await this.#abort();
    } finally {
      await this.#release();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #abort(): Promise<void> {
    this.inner.controller.abort();
    const id = this.#id;
    if (id !== null) {
      try {
        await this.#ends.cancel(id);
      } catch {
        // best effort: finished meanwhile, or OpenAI unreachable (it ends on its own)
      }
    }
  }

  async #release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.#ends.release();
  }
}

/** The response id a streamed Responses event carries (response.created, ...). */
export function responseIdOf(event: unknown): string | null {
  const response = (event as { response?: { id?: unknown } } | null)?.response;
  return typeof response?.id === "string" ? response.id : null;
}

/** The run id an Assistants stream event carries (thread.run.created, ...). */
export function runIdOf(event: unknown): string | null {
  const e = event as { event?: unknown; data?: { id?: unknown } } | null;
  return typeof e?.event === "string" && e.event.startsWith("thread.run.")
    && !e.event.startsWith("thread.run.step") && typeof e.data?.id === "string" ? e.data.id : null;
}
