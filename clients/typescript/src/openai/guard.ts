/**
 * guardOpenAI: the caller's openai-node client with `responses.create` and the Assistants
 * calls (`beta.threads.messages.create`, `runs.create` / `createAndPoll` / `stream`) run under
 * the conversation's or thread's lock, by the policy in policy.ts. Everything else passes
 * through to the client untouched.
 *
 *     const guarded = guardOpenAI(new OpenAI(), locks, { ttl: 30, wait: 10 });
 *     const resp = await guarded.responses.create({ conversation: "conv_1", model, input });
 *     await guarded.session("conv_1", async (lease) => { ... several calls, one hold ... });
 */
// Wrapping the Assistants API (deprecated by OpenAI, still shipped by openai-node) is the point.
/* eslint-disable @typescript-eslint/no-deprecated */
import { AsyncLocalStorage } from "node:async_hooks";
import type OpenAI from "openai";
import type { LockClient } from "../client.js";
import type { Lease } from "../lease.js";
import { DEFAULTS, guardSettings, type GuardOptions, type GuardSettings } from "./options.js";
import * as policy from "./policy.js";
import { GuardedStream, Listening, responseIdOf, runIdOf, type InnerStream } from "./stream.js";

type RequestOptions = OpenAI.RequestOptions;
type ResponseCreate = OpenAI.Responses.ResponseCreateParams;
type RunCreate = OpenAI.Beta.Threads.Runs.RunCreateParams;
type ResponseEvent = OpenAI.Responses.ResponseStreamEvent;
type RunEvent = OpenAI.Beta.AssistantStreamEvent;

/** The holds of guarded.session() calls in progress, seen by their async descendants. */
type Held = ReadonlyMap<string, Lease>;

/** The guard's state, shared by its namespaces and its withOptions() copies. */
class Core {
  constructor(readonly client: OpenAI, readonly locks: LockClient, readonly opts: GuardSettings,
    readonly held: AsyncLocalStorage<Held>) {}

  /** Run `fn` holding `target`: the session's hold if one is open here, else a new lock. */
  async hold<T>(target: string, op: string, signal: AbortSignal | null | undefined,
    fn: (step: policy.Step) => Promise<T>): Promise<T> {
    const session = this.held.getStore()?.get(target);
    if (session && !session.lost) return this.#run(session, signal, fn);
    session?.check(); // a session's lease lost: say so rather than take a second hold
    return this.locks.withLock(this.opts.keyPrefix + target, this.#acquireOptions(op, signal),
      (lease) => this.#run(lease, signal, fn));
  }

  /** Take `target` and keep it until the returned stream ends or is closed. */
  async stream<T>(target: string, op: string, signal: AbortSignal | null | undefined,
    open: (step: policy.Step) => Promise<InnerStream<T>>, idOf: (event: unknown) => string | null,
    cancel: (id: string) => Promise<unknown>): Promise<GuardedStream<T>> {
    const session = this.held.getStore()?.get(target);
    session?.check();
    const lease = session ?? await this.locks.acquire(this.opts.keyPrefix + target,
      this.#acquireOptions(op, signal));
    const release = session ? () => Promise.resolve() : () => lease[Symbol.asyncDispose]();
    let opened: { inner: InnerStream<T>; signal: AbortSignal };
    try {
      opened = await this.#run(lease, signal, async (step) => ({ inner: await open(step), signal: step.signal }));
    } catch (error) {
      await release().catch(() => undefined); // the open's own error says more
      throw error;
    }
    return new GuardedStream(opened.inner, { idOf, cancel, release, signal: opened.signal });
  }

  #acquireOptions(op: string, signal: AbortSignal | null | undefined) {
    return { ttl: this.opts.ttl, wait: this.opts.wait, metadata: { op }, ...(signal ? { signal } : {}) };
  }

  /** Run a step; an OpenAI abort caused by a lost lease surfaces as that LeaseLost. */
  async #run<T>(lease: Lease, signal: AbortSignal | null | undefined,
    fn: (step: policy.Step) => Promise<T>): Promise<T> {
    const joined = signal ? AbortSignal.any([lease.signal, signal]) : lease.signal;
    try {
      return await fn({ client: this.client, lease, opts: this.opts, signal: joined });
    } catch (error) {
      if (lease.lost) throw lease.signal.reason; // withLock turns it into its LeaseLost
      throw error;
    }
  }
}

/** `responses` with create under the conversation's lock; the rest is the client's. */
export class GuardedResponses {
  readonly #core: Core;
  constructor(core: Core) { this.#core = core; }

  create(body: OpenAI.Responses.ResponseCreateParamsStreaming, options?: RequestOptions):
  Promise<GuardedStream<ResponseEvent>>;
  create(body: OpenAI.Responses.ResponseCreateParamsNonStreaming, options?: RequestOptions):
  Promise<OpenAI.Responses.Response>;
  /**
   * responses.create under the conversation's lock. background: true is polled to a terminal
   * state with the lease held (its id in the lock's metadata); stream: true returns a
   * GuardedStream that holds the lease until it ends or is closed.
   */
  async create(body: ResponseCreate, options: RequestOptions = {}):
  Promise<OpenAI.Responses.Response | GuardedStream<ResponseEvent>> {
    const core = this.#core;
    const conv = policy.conversationOf(body);
    if (body.stream) {
      return core.stream<ResponseEvent>(conv, "responses.create", options.signal, (step) =>
        policy.retryBusy(step, conv, () => step.client.responses.create(
          { ...body, stream: true }, { ...options, signal: step.signal })),
      responseIdOf, (id) => core.client.responses.cancel(id, policy.cleanupOptions()));
    }
    return core.hold(conv, "responses.create", options.signal, (step) =>
      policy.createResponse(step, body, (signal) => step.client.responses.create(
        { ...body, stream: false }, { ...options, signal })));
  }

  /** responses.parse (structured output), under the conversation's lock like create. */
  parse(body: Parameters<OpenAI["responses"]["parse"]>[0], options: RequestOptions = {}):
  Promise<Awaited<ReturnType<OpenAI["responses"]["parse"]>> | OpenAI.Responses.Response> {
    const conv = policy.conversationOf(body);
    return this.#core.hold(conv, "responses.parse", options.signal, (step) =>
      policy.createResponse(step, body, (signal) => step.client.responses.parse(body,
        { ...options, signal })));
  }

  /** responses.stream (a ResponseStream, in `.inner`, e.g. `.inner.finalResponse()`), the lease
   * held until the stream ends or is closed. */
  stream(body: Parameters<OpenAI["responses"]["stream"]>[0], options: RequestOptions = {}):
  Promise<GuardedStream<ResponseEvent>> {
    const core = this.#core;
    const conv = policy.conversationOf(body as { conversation?: unknown });
    return core.stream<ResponseEvent>(conv, "responses.stream", options.signal, (step) =>
      policy.retryBusy(step, conv, () => connected(step.client.responses.stream(body,
        { ...options, signal: step.signal }))),
    responseIdOf, (id) => core.client.responses.cancel(id, policy.cleanupOptions()));
  }
}

export class GuardedMessages {
  readonly #core: Core;
  constructor(core: Core) { this.#core = core; }

  /** messages.create once no run is active on the thread, under its lock. */
  create(threadId: string, body: OpenAI.Beta.Threads.Messages.MessageCreateParams,
    options: RequestOptions = {}): Promise<OpenAI.Beta.Threads.Messages.Message> {
    return this.#core.hold(threadId, "messages.create", options.signal, (step) =>
      policy.createMessage(step, threadId, body, options));
  }
}

/** Runs are created once the thread is idle and held until they end (create returns the
 * finished run, like createAndPoll); streams hold the lease for the whole stream. */
export class GuardedRuns {
  readonly #core: Core;
  constructor(core: Core) { this.#core = core; }

  create(threadId: string, body: OpenAI.Beta.Threads.Runs.RunCreateParamsStreaming,
    options?: RequestOptions): Promise<GuardedStream<RunEvent>>;
  create(threadId: string, body: OpenAI.Beta.Threads.Runs.RunCreateParamsNonStreaming,
    options?: RequestOptions): Promise<OpenAI.Beta.Threads.Runs.Run>;
  async create(threadId: string, body: RunCreate, options: RequestOptions = {}):
  Promise<OpenAI.Beta.Threads.Runs.Run | GuardedStream<RunEvent>> {
    if (body.stream) {
      return this.#stream(threadId, "runs.create", options, (step) =>
        step.client.beta.threads.runs.create(threadId, { ...body, stream: true },
          { ...options, signal: step.signal }));
    }
    return this.#core.hold(threadId, "runs.create", options.signal, (step) =>
      policy.runToEnd(step, threadId, { ...body, stream: false }, options));
  }

  /** Like create: the guard polls at its own pollInterval. */
  createAndPoll(threadId: string, body: OpenAI.Beta.Threads.Runs.RunCreateParamsNonStreaming,
    options: RequestOptions & { pollIntervalMs?: number } = {}): Promise<OpenAI.Beta.Threads.Runs.Run> {
    const rest = { ...options };
    delete rest.pollIntervalMs; // the guard polls at options.pollInterval
    return this.create(threadId, body, rest);
  }

  /** runs.stream (an AssistantStream, in `.inner`) once the thread is idle, lease held until
   * the stream ends or is closed. */
  stream(threadId: string, body: Parameters<OpenAI["beta"]["threads"]["runs"]["stream"]>[1],
    options: RequestOptions = {}): Promise<GuardedStream<RunEvent>> {
    return this.#stream(threadId, "runs.stream", options, (step) => connected(
      step.client.beta.threads.runs.stream(threadId, body, { ...options, signal: step.signal })));
  }

  #stream(threadId: string, op: string, options: RequestOptions,
    open: (step: policy.Step) => Promise<InnerStream<RunEvent>>): Promise<GuardedStream<RunEvent>> {
    const core = this.#core;
    return core.stream<RunEvent>(threadId, op, options.signal, async (step) => {
      await policy.waitActiveRuns(step, threadId);
      return policy.retryBusy(step, threadId, () => open(step), () => policy.waitActiveRuns(step, threadId));
    }, runIdOf, (id) => core.client.beta.threads.runs.cancel(id, { thread_id: threadId },
      policy.cleanupOptions()));
  }
}

/** The guarded client: guarded namespaces, plus everything of the client passed through. */
export class GuardedOpenAI {
  readonly #core: Core;
  readonly responses: GuardedResponses & OpenAI["responses"];
  readonly beta: {
    threads: OpenAI["beta"]["threads"] & {
      messages: GuardedMessages & OpenAI["beta"]["threads"]["messages"];
      runs: GuardedRuns & OpenAI["beta"]["threads"]["runs"];
    };
  } & OpenAI["beta"];

  /** @internal use guardOpenAI(). */
  constructor(core: Core) {
    this.#core = core;
    const client = core.client;
    this.responses = passThrough(new GuardedResponses(core), () => client.responses);
    const threads = {
      messages: passThrough(new GuardedMessages(core), () => client.beta.threads.messages),
      runs: passThrough(new GuardedRuns(core), () => client.beta.threads.runs),
    };
    this.beta = passThrough({ threads: passThrough(threads, () => client.beta.threads) },
      () => client.beta);
  }

  /** The caller's own openai client. */
  get client(): OpenAI { return this.#core.client; }
  get locks(): LockClient { return this.#core.locks; }
  get options(): Readonly<GuardSettings> { return this.#core.opts; }

  /** The same guard with other options, e.g. withOptions({ wait: 0 }) to fail fast. */
  withOptions(changes: GuardOptions): GuardedOpenAI & OpenAI {
    const core = this.#core;
    return wrap(new Core(core.client, core.locks, guardSettings(core.opts, changes), core.held));
  }

  /**
   * Hold `target` (a conversation or thread id) while `fn` runs: guarded calls on it inside
   * `fn` (and in what it awaits) reuse this hold, so several calls run under one lock. The
   * lock is released when `fn` settles; LeaseLost if it was lost meanwhile.
   */
  async session<T>(target: string, fn: (lease: Lease) => Promise<T> | T,
    options: { signal?: AbortSignal } = {}): Promise<T> {
    if (typeof target !== "string" || !target) throw new TypeError("target: must be a conversation or thread id");
    const core = this.#core;
    return core.hold(target, "session", options.signal, (step) => {
      const held = new Map(core.held.getStore() ?? []);
      held.set(target, step.lease);
      return core.held.run(held, () => Promise.resolve(fn(step.lease)));
    });
  }

  /**
   * Under the thread's lock (a session's, if one is open here), return once no run is active
   * on it: runs still active are waited out (bounded by activeRunTimeout, then
   * ConversationLocked) and orphans older than orphanRunAge cancelled. The seed's
   * checkAndWaitForActiveRuns; the guarded Assistants calls do it by themselves.
   */
  waitForActiveRuns(threadId: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.#core.hold(threadId, "wait-runs", options.signal, (step) =>
      policy.waitActiveRuns(step, threadId));
  }

  /** The seeds' chat / chatWithImage / chatWithFile: add the user's message (with images or
   * files) and run the assistant to completion, all under the thread's lock. */
  send(threadId: string, text: string, assistantId: string, options: policy.SendOptions = {}):
  Promise<policy.Reply> {
    return this.#core.hold(threadId, "send", options.signal, (step) =>
      policy.send(step, threadId, text, assistantId, options));
  }
}

/**
 * An openai-node helper stream (ResponseStream, AssistantStream) once its request was answered:
 * a refusal (OpenAI's busy 400) then rejects here, where retryBusy sees it, not mid-iteration.
 */
async function connected<T>(stream: InnerStream<T> & { emitted(event: "connect"): Promise<unknown> }):
Promise<Listening<T>> {
  const events = stream[Symbol.asyncIterator](); // listening from now on: no event is missed
  try {
    await stream.emitted("connect");
  } catch (error) {
    await events.return?.().catch(() => undefined);
    throw error;
  }
  return new Listening(stream, events);
}

/** `guarded` with every property it lacks read from `source()` (bound if a method). */
function passThrough<G extends object, S extends object>(guarded: G, source: () => S): G & S {
  return new Proxy(guarded, {
    get(target, name) {
      if (Reflect.has(target, name)) {
        // The target itself as `this` (getters too): its private fields are not the proxy's.
        const own: unknown = Reflect.get(target, name);
        return typeof own === "function" ? (own as (...a: unknown[]) => unknown).bind(target) : own;
      }
      const from = source();
      const value: unknown = Reflect.get(from, name);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(from) : value;
    },
    has(target, name) { return Reflect.has(target, name) || Reflect.has(source(), name); },
  }) as G & S;
}

function wrap(core: Core): GuardedOpenAI & OpenAI {
  return passThrough(new GuardedOpenAI(core), () => core.client);
}

/**
 * Guard `openai` with `locks`: guarded calls take the lock of their conversation or thread
 * (key `keyPrefix + id`) for `ttl` seconds, renewed, queuing up to `wait` seconds (ThreadBusy
 * after that, naming the holder), and pass `lease.signal` to every OpenAI request.
 */
export function guardOpenAI(openai: OpenAI, locks: LockClient, options: GuardOptions = {}):
GuardedOpenAI & OpenAI {
  // Checked for JavaScript callers, whom the types do not bind.
  if (typeof (openai as unknown) !== "object" || !("responses" in openai)) {
    throw new TypeError("openai: must be an OpenAI client (new OpenAI(...))");
  }
  if (typeof (locks as Partial<LockClient> | null)?.acquire !== "function") {
    throw new TypeError("locks: must be a LockClient");
  }
  return wrap(new Core(openai, locks, guardSettings(DEFAULTS, options), new AsyncLocalStorage<Held>()));
}
