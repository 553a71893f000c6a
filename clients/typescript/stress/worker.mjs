// One Node stress worker process, started by `threadlock stress --lang node|mixed` (not meant
// to be run by hand). It speaks exactly the line protocol of the Python worker (documented at
// the top of coordinator/threadlock/stress/worker.py), with the built @threadlock/client and
// its OpenAI guard over openai-node:
//
//   node clients/typescript/stress/worker.mjs --id N --target conv_1 --address H:P
//     --base-url U --api responses|assistants --mode guarded|unguarded --iterations N
//     (0: until told to stop) --ttl S --wait S --call-seconds S --orphan-run-age S
//     --model M --assistant-id A [--fake] [--no-barrier]
//
// Times ("at", "requested", "granted") are CLOCK_MONOTONIC seconds, the clock of Python's
// time.monotonic(): the driver compares them across processes and languages. On Linux,
// process.hrtime.bigint() reads CLOCK_MONOTONIC (libuv's uv_hrtime); tests/test_stress_node.py
// checks that a Node reading falls between two Python readings.
/* global fetch */
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import OpenAI from "openai";
import { ConversationLocked, LockClient } from "@threadlock/client";
import { busyAtOpenAI, guardOpenAI } from "@threadlock/client/openai";

const { values: a } = parseArgs({
  options: {
    id: { type: "string" }, target: { type: "string" }, address: { type: "string" },
    "base-url": { type: "string" }, api: { type: "string" }, mode: { type: "string" },
    face: { type: "string", default: "async" }, // accepted for symmetry; Node has one face
    iterations: { type: "string", default: "0" }, ttl: { type: "string", default: "10" },
    wait: { type: "string", default: "120" }, "call-seconds": { type: "string", default: "0.2" },
    "orphan-run-age": { type: "string", default: "1" }, model: { type: "string", default: "gpt-4o-mini" },
    "assistant-id": { type: "string", default: "asst_stress" }, fake: { type: "boolean", default: false },
    "no-barrier": { type: "boolean", default: false },
  },
});
for (const name of ["id", "target", "address", "base-url", "api", "mode"]) {
  if (!a[name]) {
    process.stderr.write(`stress worker: --${name} is required\n`);
    process.exit(2);
  }
}

/** CLOCK_MONOTONIC in seconds, like Python's time.monotonic(). */
const monotonic = () => Number(process.hrtime.bigint()) / 1e9;
const emit = (event) => { process.stdout.write(JSON.stringify(event) + "\n"); };

// OpenAI's busy answers (HTTP 400) counted at the HTTP layer: the guard retries them silently.
let busySeen = 0;
async function countingFetch(input, init) {
  const response = await fetch(input, init);
  if (response.status === 400) {
    try {
      const error = (await response.clone().json()).error ?? {};
      if (busyAtOpenAI({ status: 400, code: error.code, message: String(error.message ?? "") })) busySeen += 1;
    } catch {
      // not JSON: not OpenAI's busy answer
    }
  }
  return response;
}

const client = new OpenAI({ baseURL: a["base-url"], apiKey: process.env.OPENAI_API_KEY || "stress",
  fetch: countingFetch });
const locks = new LockClient({ addresses: a.address, owner: `stress-node-worker-${a.id}-pid${process.pid}` });
const guarded = guardOpenAI(client, locks, { ttl: Number(a.ttl), wait: Number(a.wait),
  orphanRunAge: Number(a["orphan-run-age"]), pollInterval: 0.05 });
const meta = a.fake ? { fake_seconds: String(Number(a["call-seconds"])) } : {};
const iterations = Number(a.iterations);

async function work(i, api) {
  if (a.api === "responses") {
    await api.responses.create({ conversation: a.target, model: a.model,
      input: `worker ${a.id} part ${i}`, metadata: meta });
    return;
  }
  const threads = api.beta.threads;
  await threads.messages.create(a.target, { role: "user", content: `worker ${a.id} part ${i}` });
  const run = { assistant_id: a["assistant-id"], model: a.model, metadata: meta };
  if (api === guarded) await threads.runs.create(a.target, run);
  else await threads.runs.createAndPoll(a.target, run, { pollIntervalMs: 50 });
}

function outcome(error) {
  const seen = busySeen;
  busySeen = 0;
  if (error === null) {
    emit({ ev: "call", ok: true, error: null, conflicts: seen, at: monotonic() });
    return;
  }
  const conflict = busyAtOpenAI(error) || error instanceof ConversationLocked;
  let kind = typeof error?.code === "string" && error.code ? error.code : (error?.name ?? "Error");
  if (busyAtOpenAI(error) && !error.code) kind = "thread_busy";
  emit({ ev: "call", ok: false, error: kind, conflicts: Math.max(seen, conflict ? 1 : 0), at: monotonic() });
}

// --- start-up: warm up (connect before "go"), say ready, wait for go, watch for stop -----------
try {
  await (a.api === "responses" ? client.conversations.retrieve(a.target) : client.beta.threads.retrieve(a.target));
} catch {
  // only a warm-up
}
busySeen = 0;
emit({ ev: "ready", pid: process.pid, lang: "node" }); // lang: extra, for the tests
let stop = false;
const lines = createInterface({ input: process.stdin });
let go = a["no-barrier"];
await new Promise((resolve) => {
  if (go) resolve();
  lines.on("line", (line) => {
    if (!go) {
      go = true;
      if (line.trim() !== "go") stop = true;
      resolve();
    } else if (line.trim() === "stop") stop = true;
  });
  lines.on("close", () => { stop = true; resolve(); }); // EOF: the driver is gone
});

for (let i = 0; !stop && (iterations === 0 || i < iterations); i += 1) {
  try {
    if (a.mode === "guarded") {
      const requested = monotonic();
      emit({ ev: "asking", key: a.target, at: requested });
      await guarded.session(a.target, async (lease) => {
        const token = Number(lease.fencingToken);
        emit({ ev: "acquired", key: a.target, token, requested, granted: monotonic() });
        try {
          await work(i, guarded);
        } finally {
          emit({ ev: "released", key: a.target, token, at: monotonic() });
        }
      });
    } else {
      const start = monotonic();
      emit({ ev: "acquired", key: a.target, token: null, requested: start, granted: start });
      try {
        await work(i, client);
      } finally {
        emit({ ev: "released", key: a.target, token: null, at: monotonic() });
      }
    }
    outcome(null);
  } catch (error) {
    outcome(error);
  }
}
lines.close();
await locks.close();
emit({ ev: "done" });
process.exit(0); // stdin may still be open: do not wait for it
