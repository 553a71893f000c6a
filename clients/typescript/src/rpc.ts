/**
 * The tiny interface between the policy core (protocol.ts) and a wire transport
 * (connect.ts): one unary call to one of N addresses, with a deadline and a signal. A
 * failure is thrown as RpcFailure with the gRPC status name; the core decides what it means.
 */
import type {
  AcquireRequest, AcquireResponse, CloseSessionRequest, CloseSessionResponse,
  KeepAliveRequest, KeepAliveResponse, OpenSessionRequest, OpenSessionResponse,
  ReleaseRequest, ReleaseResponse, StatusRequest, StatusResponse,
} from "./gen/threadlock/v1/lock_pb.js";
import type { StatusName } from "./errors.js";

/** Each method of LockService: [request, response]. */
export interface Methods {
  acquire: [AcquireRequest, AcquireResponse];
  keepAlive: [KeepAliveRequest, KeepAliveResponse];
  release: [ReleaseRequest, ReleaseResponse];
  openSession: [OpenSessionRequest, OpenSessionResponse];
  closeSession: [CloseSessionRequest, CloseSessionResponse];
  status: [StatusRequest, StatusResponse];
}
export type Method = keyof Methods;

export interface RpcTransport {
  /** How many coordinator addresses there are (targets are 0..count-1). */
  readonly count: number;
  /**
   * Call `method` on address `target`; reject with RpcFailure when the call fails (including
   * DEADLINE_EXCEEDED after `timeoutMs`, and CANCELLED when `signal` aborts).
   */
  call<M extends Method>(method: M, request: Methods[M][0], target: number, timeoutMs: number,
    signal?: AbortSignal): Promise<Methods[M][1]>;
  /** Close every connection; calls in flight fail. */
  close(): Promise<void>;
}

/** What a transport throws when a call fails. */
export class RpcFailure extends Error {
  readonly code: StatusName;
  readonly details: string;

  constructor(code: StatusName, details: string) {
    super(`${code}: ${details}`);
    this.name = "RpcFailure";
    this.code = code;
    this.details = details;
  }
}
