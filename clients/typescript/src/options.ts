/**
 * The options of LockClient and acquire (seconds, as in the proto and the Python SDK), their
 * defaults, and the checks of what is certainly wrong before any call (the coordinator checks
 * the rest and names the field). Wrong types throw TypeError, wrong values RangeError, with
 * the option's name first, as the coordinator's INVALID_ARGUMENT messages do.
 */
import { hostname } from "node:os";

export const DEFAULT_ADDRESS = "127.0.0.1:50051";
export const ADDRESS_ENV = "THREADLOCK_ADDRESS"; // the CLI and the Python SDK read it too
/** How a client carries its calls (the `transport` option); stream.ts and connect.ts. */
export type TransportName = "stream" | "unary";

/**
 * TLS to the coordinator. Each of `ca` (verifies the coordinator; default: the system's
 * roots), `cert` and `key` (client certificate for mutual TLS) is a PEM file path (string)
 * or the PEM itself (Buffer). `serverName` overrides the name checked in its certificate.
 */
export interface TlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  serverName?: string;
}

export interface LockClientOptions {
  /** "host:port", a comma-separated list, or an array; default $THREADLOCK_ADDRESS or 127.0.0.1:50051. Later ones are failovers. */
  addresses?: string | readonly string[];
  /** Who holds, as Status shows it ("worker-3@pod-a"); default "host:pid". */
  owner?: string;
  /** TLS (and mTLS with cert + key); plaintext HTTP/2 when absent. */
  tls?: TlsOptions | null;
  /** Hold every lock under one session lease of this client (one renewal for all). */
  session?: boolean;
  /** Session TTL in seconds (default 30). */
  sessionTtl?: number;
  /** Deadline of each call in seconds, besides an acquire's wait (default 10). */
  callTimeout?: number;
  /** Deadline of a release in seconds (default 5). */
  releaseTimeout?: number;
  /** A coordinator with auth: a bearer JWT (e.g. OIDC) sent on every call. One of token, tokenFile, apiKey. */
  token?: string;
  /** A file holding the JWT, re-read when it changes (Kubernetes rotates projected ServiceAccount tokens in place). */
  tokenFile?: string;
  /** A static API key the coordinator's auth file lists (as its sha256). */
  apiKey?: string;
  /**
   * "stream" (default): every call as a frame on one long-lived LockService.Stream per address
   * (about a third of a unary call's cost to the coordinator); "unary": one gRPC call each.
   */
  transport?: TransportName;
}

/** Where the `authorization: Bearer ...` credential comes from (null: none, auth off). */
export type Credential =
  | { kind: "token" | "apiKey"; value: string }
  | { kind: "tokenFile"; path: string };

export interface AcquireOptions {
  /** Lease TTL in seconds (default 30); renewed every ttl/3 while held. Unused with sessions. */
  ttl?: number;
  /** Seconds to queue for the key (default 0: try once). */
  wait?: number;
  /** Annotations Status shows, e.g. { run_id: "run_1" }. */
  metadata?: Record<string, string>;
  /** Aborts the wait (the caller leaves the queue); never a lock already granted. */
  signal?: AbortSignal;
  /** Idempotency key of this logical acquire; the SDK makes one when absent. */
  requestId?: string;
  /** Overrides the client's owner for this lock. */
  owner?: string;
}

/** LockClientOptions with defaults applied, durations in ms. */
export interface Settings {
  addresses: string[];
  owner: string;
  tls: TlsOptions | null;
  session: boolean;
  sessionTtl: number;
  callTimeout: number;
  releaseTimeout: number;
  credential: Credential | null;
  transport: TransportName;
}

function transport(value: unknown): TransportName {
  if (value === undefined) return "stream";
  if (value === "stream" || value === "unary") return value;
  throw new RangeError(`transport: must be "stream" or "unary", got ${typeof value === "string" ? JSON.stringify(value) : typeof value}`);
}

function credential(options: LockClientOptions): Credential | null {
  const given = (["token", "tokenFile", "apiKey"] as const).filter((n) => options[n] !== undefined);
  if (given.length === 0) return null;
  if (given.length > 1) throw new RangeError(`${given.join(", ")}: give exactly one of token, tokenFile, apiKey`);
  const name = given[0] as "token" | "tokenFile" | "apiKey";
  const value = options[name];
  if (typeof value !== "string") throw new TypeError(`${name}: must be a string`);
  if (!value.trim() || /[\r\n]/.test(value)) throw new RangeError(`${name}: must be a non-empty single line`);
  return name === "tokenFile" ? { kind: name, path: value } : { kind: name, value: value.trim() };
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback * 1000;
  if (typeof value !== "number") throw new TypeError(`${name}: must be a number of seconds, got ${typeof value}`);
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${name}: must be a positive number of seconds, got ${value}`);
  }
  return value * 1000;
}

export function defaultOwner(): string {
  return `${hostname()}:${process.pid}`;
}

export function settings(options: LockClientOptions): Settings {
  let addresses = options.addresses ?? process.env[ADDRESS_ENV] ?? DEFAULT_ADDRESS;
  if (typeof addresses === "string") addresses = addresses.split(",");
  if (!Array.isArray(addresses)) throw new TypeError("addresses: must be a string or an array of strings");
  const found = addresses.map((a: unknown) => {
    if (typeof a !== "string") throw new TypeError("addresses: must be a string or an array of strings");
    return a.trim();
  }).filter((a) => a);
  if (found.length === 0) throw new RangeError("addresses: give at least one coordinator address (host:port)");
  if (options.owner !== undefined && typeof options.owner !== "string") {
    throw new TypeError("owner: must be a string");
  }
  return {
    addresses: found,
    owner: options.owner || defaultOwner(),
    tls: options.tls ?? null,
    session: options.session ?? false,
    sessionTtl: positive("sessionTtl", options.sessionTtl, 30),
    callTimeout: positive("callTimeout", options.callTimeout, 10),
    releaseTimeout: positive("releaseTimeout", options.releaseTimeout, 5),
    credential: credential(options),
    transport: transport(options.transport),
  };
}

/** An acquire's checked options: ttl and wait in ms. */
export interface Hold {
  ttl: number;
  wait: number;
  metadata: Record<string, string>;
  requestId: string;
  owner: string;
}

export function hold(settings: Settings, key: unknown, options: AcquireOptions): Hold {
  if (typeof key !== "string") throw new TypeError(`key: must be a string, got ${typeof key}`);
  if (!key) throw new RangeError("key: must not be empty");
  const ttl = positive("ttl", options.ttl, 30);
  const wait = options.wait ?? 0;
  if (typeof wait !== "number") throw new TypeError(`wait: must be a number of seconds, got ${typeof wait}`);
  if (!(wait >= 0) || !Number.isFinite(wait)) {
    throw new RangeError(`wait: must be zero (fail fast) or positive seconds, got ${wait}`);
  }
  const metadata = options.metadata ?? {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") throw new TypeError(`metadata: value of ${JSON.stringify(k)} must be a string`);
  }
  return {
    ttl, wait: wait * 1000, metadata: { ...metadata }, requestId: options.requestId ?? "",
    owner: options.owner || settings.owner,
  };
}
