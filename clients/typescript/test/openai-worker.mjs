// A Node worker process for tests/test_guard_node_processes.py (the twin of tests/guard_worker.py):
// N calls on one conversation or thread through openai-node, guarded by threadlock or not.
// Prints {"ready": true} once started, waits for a line on stdin (so that a test starts all
// workers at the same moment) unless --no-barrier, then prints one JSON line:
// {"ok": n, "errors": {kind: n}, "calls": [[start, end], ...]} (seconds since the epoch).
//
//   node openai-worker.mjs --address A --base-url U --target conv_1 --api responses|assistants
//     --mode guarded|unguarded --call plain|background|stream --iterations 3 [--ttl 10]
//     [--fake-seconds S] [--no-barrier]
import { createInterface } from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import { parseArgs } from "node:util";
import OpenAI from "openai";
import { LockClient } from "@threadlock/client";
import { guardOpenAI } from "@threadlock/client/openai";

const { values: a } = parseArgs({
  options: {
    address: { type: "string" }, "base-url": { type: "string" }, target: { type: "string" },
    api: { type: "string" }, mode: { type: "string" }, call: { type: "string", default: "plain" },
    iterations: { type: "string", default: "1" }, ttl: { type: "string", default: "10" },
    "fake-seconds": { type: "string", default: "" }, "no-barrier": { type: "boolean", default: false },
  },
});
for (const name of ["address", "base-url", "target", "api", "mode"]) {
  if (!a[name]) throw new Error(`--${name} is required`);
}

const client = new OpenAI({ baseURL: a["base-url"], apiKey: "test", maxRetries: 0 });
const locks = new LockClient({ addresses: a.address, owner: `node-worker-${process.pid}` });
const guarded = guardOpenAI(client, locks, { ttl: Number(a.ttl), wait: 120, orphanRunAge: 1, pollInterval: 0.05 });
const metadata = a["fake-seconds"] ? { fake_seconds: a["fake-seconds"] } : {};
const TERMINAL = new Set(["completed", "failed", "cancelled", "incomplete", "expired"]);

async function drain(stream) {
  let n = 0;
  for await (const event of stream) n += event ? 1 : 0;
  return n;
}

async function responses(i) {
  const body = { conversation: a.target, model: "gpt-test", input: `part ${i}`, metadata };
  const api = a.mode === "guarded" ? guarded.responses : client.responses;
  if (a.call === "stream") return drain(await api.create({ ...body, stream: true }));
  if (a.call === "background") {
    let resp = await api.create({ ...body, background: true });
    while (!TERMINAL.has(resp.status)) { // unguarded: poll, as the seeds did
      await delay(50);
      resp = await client.responses.retrieve(resp.id);
    }
    return resp;
  }
  return api.create(body);
}

async function assistants(i) {
  const body = { assistant_id: "asst_test", metadata };
  if (a.mode === "guarded") {
    const threads = guarded.beta.threads;
    await threads.messages.create(a.target, { role: "user", content: `part ${i}` });
    if (a.call === "stream") return drain(await threads.runs.stream(a.target, body));
    if (a.call === "background") return threads.runs.createAndPoll(a.target, body);
    return threads.runs.create(a.target, body);
  }
  const threads = client.beta.threads;
  await threads.messages.create(a.target, { role: "user", content: `p ${i}` });
  if (a.call === "stream") return drain(threads.runs.stream(a.target, body));
  return threads.runs.createAndPoll(a.target, body, { pollIntervalMs: 50 });
}

console.log(JSON.stringify({ ready: true }));
if (!a["no-barrier"]) {
  const lines = createInterface({ input: process.stdin });
  await new Promise((resolve) => lines.once("line", resolve)); // all workers start together
  lines.close();
}
let ok = 0;
const errors = {};
const calls = [];
for (let i = 0; i < Number(a.iterations); i += 1) {
  const start = Date.now() / 1000;
  try {
    await (a.api === "responses" ? responses(i) : assistants(i));
    ok += 1;
  } catch (error) {
    const kind = error?.code || error?.name || "Error";
    errors[kind] = (errors[kind] ?? 0) + 1;
  }
  calls.push([start, Date.now() / 1000]);
}
await locks.close();
console.log(JSON.stringify({ ok, errors, calls }));
