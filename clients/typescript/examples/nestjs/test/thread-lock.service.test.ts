// ThreadLockService in a Nest testing module (@nestjs/testing), against a real coordinator and
// the project's fake OpenAI (THREADLOCK_TEST_ADDRESS, THREADLOCK_TEST_FAKE_OPENAI; run by
// tests/test_typescript_openai.py on both backends).
// The seed's service is on the Assistants API (deprecated by OpenAI, still in openai-node).
/* eslint-disable @typescript-eslint/no-deprecated */
import "reflect-metadata";
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { Test, type TestingModule } from "@nestjs/testing";
import { LockClient, ThreadBusy } from "@threadlock/client";
import OpenAI from "openai";
import { BUSY_MESSAGE, ThreadLockModule, ThreadLockService } from "../src/index.js";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run through tests/test_typescript_openai.py`);
  return value;
}

const openai = new OpenAI({ baseURL: env("THREADLOCK_TEST_FAKE_OPENAI"), apiKey: "test", maxRetries: 0 });
const other = new LockClient({ addresses: env("THREADLOCK_TEST_ADDRESS"), owner: "other-replica" });

async function app(owner: string): Promise<TestingModule> {
  return Test.createTestingModule({
    imports: [ThreadLockModule.forRoot({
      coordinator: { addresses: env("THREADLOCK_TEST_ADDRESS"), owner },
      openai, assistantId: "asst_seed", guard: { ttl: 6, pollInterval: 0.05 },
    })],
  }).compile();
}

interface Stats { conflicts_total: number; max_concurrent: { threads: Record<string, number> } }

async function stats(): Promise<Stats> {
  const res = await fetch(env("THREADLOCK_TEST_FAKE_OPENAI").replace(/\/v1$/, "/_fake/stats"));
  return (await res.json()) as Stats;
}

const newThread = async (): Promise<string> => (await openai.beta.threads.create({})).id;

let moduleRef: TestingModule;
let service: ThreadLockService;

before(async () => {
  moduleRef = await app("api-1");
  service = moduleRef.get(ThreadLockService);
});

after(async () => {
  await moduleRef.close(); // onModuleDestroy closes the LockClient
  await other.close();
});

test("chat answers through the guard and leaves the thread free", async () => {
  const thread = await newThread();
  const answer = await service.chat(thread, "hello");
  assert.match(answer.text, /echo: hello/);
  assert.deepEqual(answer.files, []);
  assert.equal(await service.isBusy(thread), false);
});

test("a thread busy in another process answers the seed's message, and shows in the status", async () => {
  const thread = await newThread();
  const lease = await other.acquire(service.key(thread), { ttl: 10 });
  try {
    assert.equal(await service.isBusy(thread), true);
    assert.deepEqual(await service.chat(thread, "hi"), { text: BUSY_MESSAGE, files: [] });
    const status = await service.getActiveThreadsStatus();
    const mine = status.find((s) => s.threadId === thread);
    assert.ok(mine, JSON.stringify(status));
    assert.equal(mine.isActive, true);
    assert.equal(mine.holder, "other-replica");
  } finally {
    await lease.release();
  }
  assert.equal(await service.isBusy(thread), false);
});

test("lockThread refuses a second holder and releases in finally, also after an error", async () => {
  const thread = await newThread();
  let inside!: () => void;
  const entered = new Promise<void>((resolve) => { inside = resolve; });
  const first = service.lockThread(thread, async () => {
    inside();
    await delay(300);
    throw new Error("the operation failed");
  });
  await entered;
  await assert.rejects(service.lockThread(thread, () => Promise.resolve(1)), ThreadBusy);
  await assert.rejects(first, /the operation failed/);
  assert.equal(await service.isBusy(thread), false);
  assert.equal(await service.lockThread(thread, () => Promise.resolve(2)), 2);
});

test("acquire / release, and await-using-style disposal through the lease", async () => {
  const thread = await newThread();
  const lease = await service.acquire(thread);
  assert.equal(await service.isBusy(thread), true);
  assert.equal(await service.release(lease), true);
  assert.equal(await service.release(lease), false); // idempotent
  const again = await service.acquire(thread);
  await again[Symbol.asyncDispose]();
  assert.equal(await service.isBusy(thread), false);
});

test("checkAndWaitForActiveRuns waits out a run that is still active", async () => {
  const thread = await newThread();
  await openai.beta.threads.runs.create(thread, { assistant_id: "a", metadata: { fake_seconds: "1" } });
  await service.checkAndWaitForActiveRuns(thread);
  const runs = await openai.beta.threads.runs.list(thread);
  assert.deepEqual(runs.data.map((r) => r.status), ["completed"]);
});

test("chatWithImage and chatWithFile send the image and the attachment", async () => {
  const thread = await newThread();
  await service.chatWithImage(thread, "look", "https://example.com/a.png");
  await service.chatWithFile(thread, "read", "file_abc");
  const messages = await openai.beta.threads.messages.list(thread, { order: "asc" });
  const users = messages.data.filter((m) => m.role === "user");
  assert.deepEqual(users[0]?.content.map((p) => p.type), ["text", "image_url"]);
  assert.equal(users[1]?.attachments?.[0]?.file_id, "file_abc");
});

test("two replicas chatting on one thread at once: one answers, the other gets the busy message, no conflict at OpenAI", async () => {
  const replica = await app("api-2");
  try {
    const second = replica.get(ThreadLockService);
    const thread = await newThread();
    const before = (await stats()).conflicts_total;
    const answers = await Promise.all([service.chat(thread, "one"), second.chat(thread, "two")]);
    const busy = answers.filter((a) => a.text === BUSY_MESSAGE).length;
    assert.ok(busy <= 1, JSON.stringify(answers));
    assert.ok(answers.some((a) => /echo:/.test(a.text)), JSON.stringify(answers));
    const after = await stats();
    assert.equal(after.conflicts_total, before);
    assert.equal(after.max_concurrent.threads[thread], 1); // never two operations at once
  } finally {
    await replica.close();
  }
});

test("the run in flight shows in getActiveThreadsStatus", async () => {
  const thread = await newThread();
  const slow = ThreadLockModule.forRoot({
    coordinator: { addresses: env("THREADLOCK_TEST_ADDRESS"), owner: "api-slow" }, openai,
    assistantId: "asst_seed", guard: { pollInterval: 0.05 } });
  const ref = await Test.createTestingModule({ imports: [slow] }).compile();
  try {
    const svc = ref.get(ThreadLockService);
    const call = svc.guarded.send(thread, "slow", "asst_seed", { run: { metadata: { fake_seconds: "1" } } });
    let runId: string | null = null;
    for (let i = 0; i < 300 && !runId; i += 1) {
      runId = (await svc.getActiveThreadsStatus()).find((s) => s.threadId === thread)?.runId ?? null;
      await delay(20);
    }
    assert.match(runId ?? "", /^run/);
    assert.equal((await call).run.id, runId);
  } finally {
    await ref.close();
  }
});
