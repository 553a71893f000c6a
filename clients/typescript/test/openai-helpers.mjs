// What the OpenAI guard tests share: the coordinator and the fake OpenAI the pytest wrapper
// (tests/test_typescript_openai.py) started, the fake's stats, bounded waits, and raw calls
// "behind the SDK's back". The package is imported by its own name (the built dist/), so the
// `exports` map, ./openai subpath included, is what the tests exercise.
/* global fetch */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as delay } from "node:timers/promises";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import OpenAI from "openai";
import { LockClient } from "@threadlock/client";
import { LockService } from "../dist/esm/gen/threadlock/v1/lock_pb.js";

export function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through tests/test_typescript_openai.py`);
  return value;
}

export const address = () => env("THREADLOCK_TEST_ADDRESS");
/** The fake's base URL, ending in /v1. */
export const fakeUrl = () => env("THREADLOCK_TEST_FAKE_OPENAI");

export function openai() {
  return new OpenAI({ baseURL: fakeUrl(), apiKey: "test", maxRetries: 0 });
}

export function locks(options = {}) {
  return new LockClient({ addresses: address(), owner: `node-test-${process.pid}`, ...options });
}

/** The fake's stats document (GET /_fake/stats). */
export async function stats() {
  const res = await fetch(fakeUrl().replace(/\/v1$/, "") + "/_fake/stats");
  if (!res.ok) throw new Error(`fake stats: HTTP ${res.status}`);
  return res.json();
}

export const conflicts = async () => (await stats()).conflicts_total;

/** Wait until `check` answers truthy (polling every 20 ms), up to `timeoutMs`; generous. */
export async function eventually(check, what, timeoutMs = 15_000) {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

/** A raw Connect client of the contract, to act behind the SDK's back. */
export function raw() {
  return createClient(LockService, createGrpcTransport({ baseUrl: `http://${address()}` }));
}

/** The holders of a guarded target (key "openai/" + id), as Status shows them. */
export async function holders(client, target) {
  const [lock] = await client.status({ key: `openai/${target}` });
  return lock?.holder ? [lock.holder] : [];
}

export async function conversation(client) {
  return (await client.conversations.create({})).id;
}

export async function thread(client) {
  return (await client.beta.threads.create({})).id;
}

export const unique = (name) => `${name}-${randomUUID().slice(0, 8)}`;
