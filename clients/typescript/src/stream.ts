/**
 * The default wire: every call of a client to one address as a frame on one long-lived
 * LockService.Stream (a frame costs the coordinator about a third of a unary call), the
 * TypeScript twin of the Python SDK's `_stream.py`. Like connect.ts it only performs a call
 * and turns a failure into RpcFailure; every decision (retry, failover, loss) is protocol.ts's.
 *
 * Each call is a frame with a call_id and the call's own timeout; the answer with that call_id
 * completes it. A caller that gives up (its timeout, or its AbortSignal) sends a cancel frame,
 * so a queued Acquire leaves the queue at once, as a cancelled unary call would. When a stream
 * breaks, its calls in flight fail UNAVAILABLE and the next call opens a new stream: the
 * policy then retries as after a lost unary response (Acquire with the same request_id). A
 * stream that answered UNAVAILABLE "server is shutting down", or whose credential (tokenFile)
 * has changed, takes no new calls. A coordinator without Stream (UNIMPLEMENTED) is called unary.
 */
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import { ConnectTransport, rpcFailure, statusName } from "./connect.js";
import type { StatusName } from "./errors.js";
import {
  StreamCancelSchema, StreamRequestSchema, type LockService, type StreamRequest, type StreamResponse,
} from "./gen/threadlock/v1/lock_pb.js";
import { RpcFailure, type Method, type Methods, type RpcTransport } from "./rpc.js";
import type { Sessions } from "./sessions.js";

/** Calls in flight per stream: the coordinator's default max_stream_calls. */
export const MAX_CALLS = 1000;
/** setTimeout's largest delay; longer deadlines are left to the frame's own timeout. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * A stream that ends with one of these failed for a reason its calls share (a bad credential,
 * an older coordinator); any other end after it opened means "no answer": UNAVAILABLE.
 */
const PASSED_ON: readonly StatusName[] = ["UNAUTHENTICATED", "PERMISSION_DENIED", "UNIMPLEMENTED"];

/** A call got no answer because its stream ended (`code`: why, as the policy sees it). */
export class StreamBroke extends RpcFailure {}

/** The frames to send, as the async iterable Connect's bidi call reads (a queue). */
class Outbox implements AsyncIterable<StreamRequest> {
  /** Connect started reading: the HTTP/2 stream exists, so the connection (TLS) is up. */
  started = false;
  #frames: StreamRequest[] = [];
  #wake: (() => void) | null = null;
  #ended = false;

  push(frame: StreamRequest): void {
    if (this.#ended) return;
    this.#frames.push(frame);
    this.#wake?.();
  }

  /** No more frames: the coordinator answers the calls in flight, then ends the stream. */
  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<StreamRequest> {
    this.started = true;
    for (;;) {
      const frames = this.#frames;
      this.#frames = [];
      yield* frames;
      if (this.#ended) return;
      if (this.#frames.length === 0) {
        await new Promise<void>((resolve) => { this.#wake = resolve; });
        this.#wake = null;
      }
    }
  }
}

type Settle = (answer: StreamResponse | RpcFailure) => void;

/** One open LockService.Stream: its calls in flight by call_id. */
class CallStream {
  readonly credential: string | null; // what the stream was opened with
  readonly pending = new Map<bigint, Settle>();
  /** Broken, or retired: takes no new calls. */
  closed = false;
  #ids = 0n;
  #retired = false;
  readonly #outbox = new Outbox();
  readonly #abort = new AbortController();
  readonly #sessions: Sessions;

  constructor(client: Client<typeof LockService>, sessions: Sessions, credential: string | null) {
    this.credential = credential;
    this.#sessions = sessions;
    // No timeoutMs: the stream has no deadline, each frame carries its call's.
    void this.#read(client.stream(this.#outbox, { signal: this.#abort.signal }));
  }

  async #read(answers: AsyncIterable<StreamResponse>): Promise<void> {
    let failure: RpcFailure;
    try {
      for await (const answer of answers) {
        const settle = this.pending.get(answer.callId);
        if (settle !== undefined) {
          this.#forget(answer.callId);
          settle(answer);
        }
      }
      failure = broke("UNAVAILABLE", "the coordinator ended it", true);
    } catch (error) {
      const { code, details } = rpcFailure(error);
      failure = broke(code, details, this.#outbox.started);
    }
    this.closed = true;
    this.#outbox.end();
    const settles = [...this.pending.values()];
    for (const callId of [...this.pending.keys()]) this.#forget(callId);
    for (const settle of settles) settle(failure);
  }

  call<M extends Method>(method: M, request: Methods[M][0], timeoutMs: number,
    signal?: AbortSignal): Promise<Methods[M][1]> {
    if (this.closed) return Promise.reject(broke("UNAVAILABLE", "it closed before the call", true));
    if (signal?.aborted) return Promise.reject(new RpcFailure("CANCELLED", "the call was aborted"));
    this.#ids += 1n;
    const callId = this.#ids;
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const giveUp = (failure: RpcFailure): void => {
        done();
        // A queued Acquire leaves the queue now (the coordinator answers CANCELLED, ignored).
        // (After the request side ended, or the stream broke, the Outbox drops it.)
        if (this.#forget(callId)) {
          this.#outbox.push(create(StreamRequestSchema, {
            callId, call: { case: "cancel", value: create(StreamCancelSchema) } }));
        }
        this.#endIfDrained();
        reject(failure);
      };
      const onAbort = (): void => { giveUp(new RpcFailure("CANCELLED", "the call was aborted")); };
      // Our own deadline fires first (the coordinator counts from reading the frame), as a
      // gRPC client deadline would; the frame's timeout bounds the call at the coordinator.
      const timer = setTimeout(() => {
        giveUp(new RpcFailure("DEADLINE_EXCEEDED", "Deadline Exceeded"));
      }, Math.min(Math.max(timeoutMs, 0), MAX_TIMER_MS));
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(callId, (answer) => {
        done();
        this.#endIfDrained();
        if (answer instanceof RpcFailure) reject(answer);
        else {
          try {
            resolve(result(method, answer));
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        }
      });
      this.#sessions.busy(1);
      this.#outbox.push(create(StreamRequestSchema, {
        callId, timeout: durationFromMs(Math.max(Math.ceil(timeoutMs), 1)),
        // The oneof's cases are named as the methods are (acquire, keepAlive, ...).
        call: { case: method, value: request } as StreamRequest["call"],
      }));
    });
  }

  /** Drop a call from the books; false if it was not (any more) in flight. */
  #forget(callId: bigint): boolean {
    if (!this.pending.delete(callId)) return false;
    this.#sessions.busy(-1);
    return true;
  }

  /**
   * No new calls; those in flight get their answers (and can still be cancelled), then the
   * request side ends and the coordinator ends the stream.
   */
  retire(): void {
    this.closed = true;
    this.#retired = true;
    this.#endIfDrained();
  }

  #endIfDrained(): void {
    if (this.#retired && this.pending.size === 0) this.#outbox.end();
  }

  /** Break the stream now (the client closes): calls in flight fail. */
  abort(): void {
    this.closed = true;
    this.#abort.abort();
  }
}

/** The failure of a call whose stream ended with `code`. */
function broke(code: StatusName, details: string, opened: boolean): StreamBroke {
  // Before the HTTP/2 stream existed it is the connection that failed (refused, an untrusted
  // certificate): the same failure, with the same code, that a unary call would get.
  if (!opened || PASSED_ON.includes(code)) return new StreamBroke(code, details);
  return new StreamBroke("UNAVAILABLE", `the stream to the coordinator ended (${details || code}); no answer`);
}

/** The response in an answer to a `method` call, or its error as RpcFailure. */
function result<M extends Method>(method: M, answer: StreamResponse): Methods[M][1] {
  const { result: got } = answer;
  if (got.case === "error") throw new RpcFailure(statusName(got.value.code), got.value.message);
  if (got.case !== method) {
    throw new RpcFailure("INTERNAL", `the coordinator answered a ${method} call with ${got.case ?? "nothing"}`);
  }
  return got.value;
}

/** The coordinator of this stream is shutting down (stream_face.py's answer to new calls). */
function shuttingDown(failure: RpcFailure): boolean {
  return failure.code === "UNAVAILABLE" && failure.details.startsWith("server is shutting down");
}

export class StreamTransport implements RpcTransport {
  readonly count: number;
  readonly #unary: ConnectTransport; // its connections and clients; the fallback
  readonly #streaming: boolean[];
  readonly #streams: CallStream[][];
  readonly #maxCalls: number;

  /** `maxCalls`: calls in flight per stream before another opens (smaller only in tests). */
  constructor(unary: ConnectTransport, maxCalls = MAX_CALLS) {
    this.#unary = unary;
    this.#maxCalls = maxCalls;
    this.count = unary.count;
    this.#streaming = unary.clients.map(() => true);
    this.#streams = unary.clients.map(() => []);
  }

  async call<M extends Method>(method: M, request: Methods[M][0], target: number,
    timeoutMs: number, signal?: AbortSignal): Promise<Methods[M][1]> {
    if (this.#unary.closed) throw new RpcFailure("CANCELLED", "the LockClient was closed");
    if (this.#streaming[target] === true) {
      const stream = this.#stream(target);
      try {
        return await stream.call(method, request, timeoutMs, signal);
      } catch (error) {
        if (!(error instanceof StreamBroke && error.code === "UNIMPLEMENTED")) {
          if (error instanceof RpcFailure && shuttingDown(error)) stream.retire(); // retry: a new stream
          throw error;
        }
        this.#streaming[target] = false; // an older coordinator: unary from now on
      }
    }
    return this.#unary.call(method, request, target, timeoutMs, signal);
  }

  /** A stream of `target` that takes this call: the open one, or a new one. */
  #stream(target: number): CallStream {
    const streams = this.#streams[target];
    const client = this.#unary.clients[target];
    const sessions = this.#unary.managers[target];
    if (streams === undefined || client === undefined || sessions === undefined) {
      throw new RangeError(`target: no address ${target}`);
    }
    let credential: string | null;
    try {
      credential = this.#unary.credential();
    } catch (error) {
      throw rpcFailure(error); // a tokenFile gone: as the unary interceptor would fail
    }
    for (const stream of [...streams]) {
      if (!stream.closed && stream.credential === credential && stream.pending.size < this.#maxCalls) {
        return stream;
      }
      if (stream.closed || stream.credential !== credential) {
        stream.retire(); // its calls in flight still get their answers
        if (stream.pending.size === 0) streams.splice(streams.indexOf(stream), 1);
      }
    }
    const fresh = new CallStream(client, sessions, credential);
    streams.push(fresh);
    return fresh;
  }

  async close(): Promise<void> {
    for (const streams of this.#streams) {
      for (const stream of streams) stream.abort();
      streams.length = 0;
    }
    await this.#unary.close();
  }
}
