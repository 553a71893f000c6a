// The TypeScript SDK's conformance adapter (tests/conformance/PROTOCOL.md): JSON commands on
// stdin, one JSON answer per line on stdout, calls of the public API of `@threadlock/client`
// in between (imported by its package name: the built dist/, as users get it).
//
//     node clients/typescript/.build/conformance/adapter.js   # driven by tests/test_sdk_conformance.py
//
// Every SDK error becomes an error answer; anything else (a bad command, a bug here or in the
// SDK) becomes an `Internal` answer, which fails the suite. Exits 0 at EOF. Logs go to stderr.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import {
  Conflict, CoordinatorError, InvalidArgument, LeaseLost, LockClient, NotFound, ThreadBusy,
  Unavailable, type Lease,
} from "@threadlock/client";

type Command = Record<string, unknown>;
type Answer = Record<string, unknown>;

/** The driver sent something the protocol does not know (answered as Internal). */
class ProtocolError extends Error {}

// Most specific first: InvalidArgument, NotFound, ... are CoordinatorErrors too.
const TYPES: [new (...args: never[]) => Error, string][] = [
  [ThreadBusy, "ThreadBusy"], [LeaseLost, "LeaseLost"], [InvalidArgument, "InvalidArgument"],
  [NotFound, "NotFound"], [Conflict, "Conflict"], [Unavailable, "Unavailable"],
  [CoordinatorError, "CoordinatorError"], [TypeError, "ValueError"], [RangeError, "ValueError"],
];

function errorAnswer(error: unknown, refusedOption = false): Answer {
  let type = TYPES.find(([cls]) => error instanceof cls)?.[1] ?? "Internal";
  // init: an option the SDK refuses (e.g. a TLS file it cannot read) is a ValueError.
  if (refusedOption && type === "Internal" && !(error instanceof ProtocolError)) type = "ValueError";
  const message = error instanceof Error ? error.message : String(error);
  const answer: Answer = { type, message };
  if (error instanceof ThreadBusy) {
    Object.assign(answer, { holder: error.holder, waiters: error.waiters, message: error.message });
  } else if (error instanceof LeaseLost) {
    answer["reason"] = error.reason;
  } else if (error instanceof InvalidArgument) {
    answer["field"] = error.field;
  }
  if (type === "Internal" && !(error instanceof ProtocolError) && error instanceof Error) {
    answer["message"] = error.stack ?? message; // a bug: show where
  }
  return { ok: false, error: answer };
}

function str(command: Command, name: string): string {
  const value = command[name];
  if (typeof value !== "string") throw new ProtocolError(`${name}: a string is required`);
  return value;
}

function num(command: Command, name: string, fallback?: number): number {
  const value = command[name] ?? fallback;
  if (typeof value !== "number") throw new ProtocolError(`${name}: a number is required`);
  return value;
}

function strings(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object") throw new ProtocolError("metadata: an object is required");
  return value as Record<string, string>;
}

class Adapter {
  client: LockClient | null = null;
  readonly leases = new Map<string, Lease>();

  async handle(line: string): Promise<Answer> {
    console.error(`command ${line.trim()}`); // the trail the driver shows when a test fails
    let command: Command;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new ProtocolError(`a command is a JSON object, got ${line}`);
      }
      command = parsed as Command;
    } catch (error) {
      return errorAnswer(error instanceof ProtocolError ? error : new ProtocolError(`not JSON: ${line}`));
    }
    try {
      return await this.run(command);
    } catch (error) { // every failure is an answer; the process lives on
      return errorAnswer(error, command["cmd"] === "init");
    }
  }

  run(command: Command): Promise<Answer> {
    switch (command["cmd"]) {
      case "init": return this.init(command);
      case "acquire": return this.acquire(command);
      case "check": return this.check(command);
      case "hold": return this.hold(command);
      case "wait_lost": return this.waitLost(command);
      case "annotate": return this.annotate(command);
      case "release": return this.release(command);
      case "status": return this.status(command);
      case "close": return this.close();
      default: throw new ProtocolError(`unknown command ${JSON.stringify(command["cmd"])}`);
    }
  }

  private lockClient(): LockClient {
    if (this.client === null) throw new ProtocolError("send init first");
    return this.client;
  }

  private lease(command: Command): Lease {
    const handle = str(command, "handle");
    const lease = this.leases.get(handle);
    if (lease === undefined) throw new ProtocolError(`no lease with handle ${handle}`);
    return lease;
  }

  async init(command: Command): Promise<Answer> {
    if (this.client !== null) throw new ProtocolError("init was sent twice");
    const tls = command["tls"] as { ca?: string; cert?: string; key?: string } | null | undefined;
    const addresses = command["addresses"];
    if (!Array.isArray(addresses)) throw new ProtocolError("addresses: a list is required");
    this.client = new LockClient({
      addresses: addresses as string[], owner: str(command, "owner"),
      tls: tls ? { ...tls } : null,
      session: command["session"] === true,
      sessionTtl: num(command, "session_ttl", 30),
      callTimeout: num(command, "call_timeout", 10),
    });
    const pkg = JSON.parse(readFileSync(new URL(import.meta.resolve("@threadlock/client/package.json")), "utf8")) as { version: string };
    return Promise.resolve({ ok: true, sdk: `typescript ${pkg.version}` });
  }

  async acquire(command: Command): Promise<Answer> {
    const handle = str(command, "handle");
    const requestId = command["request_id"];
    const metadata = strings(command["metadata"]);
    const lease = await this.lockClient().acquire(str(command, "key"), {
      ttl: num(command, "ttl"), wait: num(command, "wait"),
      ...(metadata ? { metadata } : {}),
      ...(typeof requestId === "string" && requestId ? { requestId } : {}),
    });
    this.leases.set(handle, lease);
    return {
      ok: true, handle, key: lease.key, fencing_token: Number(lease.fencingToken),
      lease_token: lease.leaseToken, session_id: lease.sessionId,
      expires_in: Math.round(lease.expiresAt.getTime() - Date.now()) / 1000,
    };
  }

  async check(command: Command): Promise<Answer> {
    this.lease(command).check();
    return Promise.resolve({ ok: true });
  }

  async hold(command: Command): Promise<Answer> {
    const lease = this.lease(command);
    await delay(num(command, "seconds") * 1000); // the SDK renews in the background meanwhile
    lease.check();
    return { ok: true };
  }

  async waitLost(command: Command): Promise<Answer> {
    const lease = this.lease(command);
    if (!lease.lost) {
      const timer = new AbortController();
      await Promise.race([
        new Promise((resolve) => { lease.signal.addEventListener("abort", resolve, { once: true }); }),
        delay(num(command, "timeout") * 1000, undefined, { signal: timer.signal }).catch(() => undefined),
      ]);
      timer.abort();
    }
    return { ok: true, lost: lease.lost, reason: lease.lostReason };
  }

  async annotate(command: Command): Promise<Answer> {
    await this.lease(command).annotate(strings(command["metadata"]) ?? {});
    return { ok: true };
  }

  async release(command: Command): Promise<Answer> {
    return { ok: true, released: await this.lease(command).release() };
  }

  async status(command: Command): Promise<Answer> {
    const client = this.lockClient();
    const states = typeof command["key"] === "string"
      ? await client.status({ key: command["key"] })
      : await client.status({ prefix: typeof command["prefix"] === "string" ? command["prefix"] : "" });
    return {
      ok: true,
      locks: states.map((s) => ({
        key: s.key,
        holder: s.holder?.owner ? {
          owner: s.holder.owner, fencing_token: Number(s.holder.fencingToken), metadata: s.holder.metadata,
        } : null,
        waiters: s.waiters.map((w) => ({ owner: w.owner, position: w.position })),
      })),
    };
  }

  async close(): Promise<Answer> {
    const client = this.lockClient();
    this.client = null;
    this.leases.clear();
    await client.close();
    return { ok: true };
  }
}

async function main(): Promise<void> {
  const adapter = new Adapter();
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    process.stdout.write(`${JSON.stringify(await adapter.handle(line))}\n`);
  }
  await adapter.client?.close();
  process.exit(0); // anything still pending (a lease's renewal) ends with us
}

void main();
