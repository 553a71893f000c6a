/**
 * The wire: Connect-ES v2 over HTTP/2 with the gRPC protocol, one client per coordinator
 * address. Thin on purpose: it performs a call and turns a failure into RpcFailure with the
 * gRPC status name; every decision (retry, failover, loss) is protocol.ts's.
 */
import { readFileSync, statSync } from "node:fs";
import type { SecureClientSessionOptions } from "node:http2";
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { StatusName } from "./errors.js";
import type { Credential, TlsOptions } from "./options.js";
import { LockService } from "./gen/threadlock/v1/lock_pb.js";
import { RpcFailure, type Method, type Methods, type RpcTransport } from "./rpc.js";
import { Sessions } from "./sessions.js";

const NAMES: Record<Code, StatusName> = {
  [Code.Canceled]: "CANCELLED",
  [Code.Unknown]: "UNKNOWN",
  [Code.InvalidArgument]: "INVALID_ARGUMENT",
  [Code.DeadlineExceeded]: "DEADLINE_EXCEEDED",
  [Code.NotFound]: "NOT_FOUND",
  [Code.AlreadyExists]: "ALREADY_EXISTS",
  [Code.PermissionDenied]: "PERMISSION_DENIED",
  [Code.ResourceExhausted]: "RESOURCE_EXHAUSTED",
  [Code.FailedPrecondition]: "FAILED_PRECONDITION",
  [Code.Aborted]: "ABORTED",
  [Code.OutOfRange]: "OUT_OF_RANGE",
  [Code.Unimplemented]: "UNIMPLEMENTED",
  [Code.Internal]: "INTERNAL",
  [Code.Unavailable]: "UNAVAILABLE",
  [Code.DataLoss]: "DATA_LOSS",
  [Code.Unauthenticated]: "UNAUTHENTICATED",
};

/** The gRPC status name of a numeric code (a Stream answer's StreamError.code). */
export function statusName(code: number): StatusName {
  const names: Partial<Record<number, StatusName>> = NAMES; // a number from the wire may be no Code
  return names[code] ?? "UNKNOWN";
}

/** What Connect threw, as the RpcFailure the policy core reads. */
export function rpcFailure(error: unknown): RpcFailure {
  const failure = ConnectError.from(error);
  return new RpcFailure(NAMES[failure.code], failure.rawMessage);
}

function pem(value: string | Buffer | undefined): Buffer | undefined {
  return typeof value === "string" ? readFileSync(value) : value;
}

/** Node's TLS options from ours (read once: a bad path fails the constructor, not a call). */
export function tlsOptions(tls: TlsOptions): SecureClientSessionOptions {
  const options: SecureClientSessionOptions = {};
  const ca = pem(tls.ca);
  const cert = pem(tls.cert);
  const key = pem(tls.key);
  if (ca) options.ca = ca;
  if (cert) options.cert = cert;
  if (key) options.key = key;
  if (tls.serverName) options.servername = tls.serverName;
  return options;
}

/**
 * An interceptor that sends `authorization: Bearer <credential>` on every call. A tokenFile is
 * read at construction (a missing file fails the constructor) and again whenever its mtime or
 * size changes, so a rotated projected token is picked up without a new client.
 */
function bearer(credential: Credential): { interceptor: Interceptor; current: () => string } {
  let seen = "";
  let value = "";
  const current = (): string => {
    if (credential.kind !== "tokenFile") return credential.value;
    const stat = statSync(credential.path);
    const stamp = `${stat.mtimeMs}:${stat.size}`;
    if (stamp !== seen) {
      value = readFileSync(credential.path, "utf8").trim();
      seen = stamp;
    }
    return value;
  };
  try {
    current();
  } catch (error) {
    throw new RangeError(`tokenFile: cannot read ${credential.kind === "tokenFile" ? credential.path : ""}: ${String(error)}`,
      { cause: error });
  }
  return {
    current,
    interceptor: (next) => (request) => {
      request.header.set("authorization", `Bearer ${current()}`);
      return next(request);
    },
  };
}

export class ConnectTransport implements RpcTransport {
  readonly count: number;
  /** Per address: its HTTP/2 connection and its client (stream.ts opens Streams on them). */
  readonly managers: Sessions[];
  readonly clients: Client<typeof LockService>[];
  /** The credential sent now (a tokenFile's current content), or null without auth. */
  readonly credential: () => string | null;
  closed = false;

  constructor(addresses: readonly string[], tls: TlsOptions | null,
    credential: Credential | null = null) {
    const nodeOptions = tls ? tlsOptions(tls) : {};
    const auth = credential ? bearer(credential) : null;
    const interceptors = auth ? [auth.interceptor] : [];
    this.credential = auth ? auth.current : () => null;
    this.count = addresses.length;
    this.managers = addresses.map((address) => new Sessions(
      `${tls ? "https" : "http"}://${address}`,
      // PINGs find a dead connection while a long Acquire waits; idle ones close.
      { pingIntervalMs: 30_000, pingTimeoutMs: 10_000, idleConnectionTimeoutMs: 60_000 },
      nodeOptions,
    ));
    this.clients = addresses.map((address, i) => createClient(LockService, createGrpcTransport({
      baseUrl: `${tls ? "https" : "http"}://${address}`,
      sessionManager: this.managers[i],
      interceptors,
    })));
  }

  async call<M extends Method>(method: M, request: Methods[M][0], target: number,
    timeoutMs: number, signal?: AbortSignal): Promise<Methods[M][1]> {
    const client = this.clients[target];
    if (client === undefined) throw new RangeError(`target: no address ${target}`);
    // A closed client stays closed: no reconnect for a lease still renewing (it lapses).
    if (this.closed) throw new RpcFailure("CANCELLED", "the LockClient was closed");
    // One signature for six methods: the map in rpc.ts ties each request to its response.
    const fn = client[method] as unknown as (req: Methods[M][0], options: object) =>
      Promise<Methods[M][1]>;
    try {
      return await fn(request, { timeoutMs: Math.max(Math.ceil(timeoutMs), 1), signal });
    } catch (error) {
      throw rpcFailure(error);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const manager of this.managers) manager.abort();
    return Promise.resolve();
  }
}
