// The OpenAI guard (@threadlock/client/openai) with the real openai-node 7.x client against a
// real coordinator and the project's fake OpenAI, which answers OpenAI's real busy 400s and
// counts them. Run by tests/test_typescript_openai.py (both backends).
/* global AbortController */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ConversationLocked, LeaseLost, ThreadBusy } from "@threadlock/client";
import { GuardedStream, guardOpenAI } from "@threadlock/client/openai";
import {
  conflicts, conversation, eventually, holders, locks as makeLocks, openai as makeOpenAI, raw,
  stats, thread,
} from "./openai-helpers.mjs";

let client;
let locks;
let guarded;

before(() => {
  client = makeOpenAI();
  locks = makeLocks();
  guarded = guardOpenAI(client, locks, { ttl: 6, wait: 30, pollInterval: 0.1 });
});

after(async () => {
  await locks.close();
});

const holderMeta = async (target) => (await holders(locks, target))[0]?.metadata ?? {};

test("a plain response runs under the conversation's lock, which is released after", async () => {
  const conv = await conversation(client);
  const before = await conflicts();
  const resp = await guarded.responses.create({ conversation: conv, model: "m", input: "hello" });
  assert.equal(resp.status, "completed");
  assert.match(resp.output_text, /echo: hello/);
  assert.deepEqual(await holders(locks, conv), []);
  assert.equal(await conflicts(), before);
});

test("a background response is polled to its end with the lease held and its id in the lock's metadata", async () => {
  const conv = await conversation(client);
  const call = guarded.responses.create({
    conversation: conv, model: "m", input: "bg", background: true, metadata: { fake_seconds: "1" },
  });
  const meta = await eventually(async () => {
    const m = await holderMeta(conv);
    return m.response_id?.startsWith("resp") ? m : null;
  }, "the response id in the lock's metadata");
  assert.equal(meta.op, "responses.create");
  const resp = await call;
  assert.equal(resp.status, "completed");
  assert.equal(resp.id, meta.response_id);
  assert.deepEqual(await holders(locks, conv), []);
});

test("a streamed response holds the lease until the stream ends", async () => {
  const conv = await conversation(client);
  const before = await conflicts();
  const stream = await guarded.responses.create({
    conversation: conv, model: "m", input: "st", stream: true, metadata: { fake_seconds: "1" },
  });
  assert.ok(stream instanceof GuardedStream);
  const kinds = [];
  for await (const event of stream) {
    if (kinds.length === 0) assert.equal((await holders(locks, conv)).length, 1, "held while streaming");
    kinds.push(event.type);
  }
  assert.equal(kinds.at(-1), "response.completed");
  assert.ok(kinds.includes("response.output_text.delta"));
  assert.deepEqual(await holders(locks, conv), []);
  assert.equal(await conflicts(), before);
});

test("a stream abandoned early is aborted, its response cancelled and the lock released", async () => {
  const conv = await conversation(client);
  const cancelled = (await stats()).cancelled.responses;
  const stream = await guarded.responses.create({
    conversation: conv, model: "m", input: "x", stream: true, background: true,
    metadata: { fake_seconds: "inf" },
  });
  for await (const event of stream) {
    assert.ok(event.type);
    break; // the caller stops reading
  }
  await eventually(async () => (await stats()).cancelled.responses === cancelled + 1, "the cancel at the fake");
  assert.deepEqual(await holders(locks, conv), []);
});

test("lease.signal aborts an in-flight OpenAI request when the lease is lost (released behind its back)", async () => {
  const conv = await conversation(client);
  const outcome = guarded.session(conv, async (lease) => {
    // Never ends on its own (fake_seconds inf): only an abort can end this request.
    const call = guarded.responses.create({ conversation: conv, model: "m", input: "x",
      metadata: { fake_seconds: "inf" } });
    await eventually(async () => (await stats()).active.responses.length > 0
      && (await fetchConversationBusy(conv)), "the request in flight at the fake");
    await raw().release({ leaseToken: lease.leaseToken }); // someone else's doing
    await call;
  });
  // The request never ends on its own: its rejection is the abort by lease.signal.
  await assert.rejects(outcome, (error) => error instanceof LeaseLost);
});

async function fetchConversationBusy(conv) {
  // A second, unguarded request on the conversation is refused while ours is in flight.
  try {
    await makeOpenAI().responses.create({ conversation: conv, model: "m", input: "probe" });
    return false;
  } catch (error) {
    return error.status === 400 && error.code === "conversation_locked";
  }
}

test("a lost lease aborts a background response's polling and cancels the response at the fake", async () => {
  const conv = await conversation(client);
  const cancelled = (await stats()).cancelled.responses;
  const outcome = guarded.session(conv, async (lease) => {
    const call = guarded.responses.create({ conversation: conv, model: "m", input: "bg",
      background: true, metadata: { fake_seconds: "inf" } });
    await eventually(async () => (await holderMeta(conv)).response_id, "the response id");
    await raw().release({ leaseToken: lease.leaseToken });
    await call;
  });
  await assert.rejects(outcome, LeaseLost);
  await eventually(async () => (await stats()).cancelled.responses === cancelled + 1, "the cancel at the fake");
});

test("a lost lease aborts a stream and cancels its response", async () => {
  const conv = await conversation(client);
  const cancelled = (await stats()).cancelled.responses;
  const outcome = guarded.session(conv, async (held) => {
    const stream = await guarded.responses.create({ conversation: conv, model: "m", input: "s",
      stream: true, background: true, metadata: { fake_seconds: "inf" } });
    let first = true;
    for await (const event of stream) {
      assert.ok(event.type);
      if (first) await raw().release({ leaseToken: held.leaseToken });
      first = false;
    }
  }).catch((error) => error);
  const error = await outcome;
  assert.ok(error instanceof LeaseLost, String(error));
  await eventually(async () => (await stats()).cancelled.responses === cancelled + 1, "the cancel at the fake");
});

test("OpenAI's busy 400 (a writer bypassing the coordinator) is retried under the lease", async () => {
  const conv = await conversation(client);
  const before = await conflicts();
  await client.responses.create({ conversation: conv, model: "m", input: "bypass",
    background: true, metadata: { fake_seconds: "1" } });
  const resp = await guarded.responses.create({ conversation: conv, model: "m", input: "mine" });
  assert.equal(resp.status, "completed");
  assert.ok(await conflicts() > before, "the guard met conversation_locked and retried");
});

test("a conversation that stays busy at OpenAI ends in ConversationLocked after busyTimeout", async () => {
  const conv = await conversation(client);
  await client.responses.create({ conversation: conv, model: "m", input: "stuck",
    background: true, metadata: { fake_seconds: "inf" } });
  await assert.rejects(guarded.withOptions({ busyTimeout: 1 }).responses.create({
    conversation: conv, model: "m", input: "mine" }), (error) => {
    assert.ok(error instanceof ConversationLocked);
    assert.match(error.message, /retried for 1s/);
    return true;
  });
  assert.deepEqual(await holders(locks, conv), []);
});

test("a busy conversation fails fast with ThreadBusy naming the holder (wait: 0)", async () => {
  const conv = await conversation(client);
  const lease = await locks.acquire(`openai/${conv}`, { ttl: 10, owner: "worker-7" });
  try {
    await assert.rejects(guarded.withOptions({ wait: 0 }).responses.create({
      conversation: conv, model: "m", input: "x" }), (error) => {
      assert.ok(error instanceof ThreadBusy);
      assert.equal(error.holder, "worker-7");
      return true;
    });
  } finally {
    await lease.release();
  }
});

test("a session runs several calls under one hold", async () => {
  const conv = await conversation(client);
  const tokens = await guarded.session(conv, async (lease) => {
    const seen = [];
    for (const text of ["one", "two", "three"]) {
      await guarded.responses.create({ conversation: conv, model: "m", input: text });
      seen.push((await holders(locks, conv))[0].fencingToken);
    }
    assert.ok(seen.every((t) => t === lease.fencingToken));
    return seen;
  });
  assert.equal(tokens.length, 3);
  assert.deepEqual(await holders(locks, conv), []);
});

test("send() adds the message and runs the assistant to completion (chat / chatWithImage / chatWithFile)", async () => {
  const th = await thread(client);
  const reply = await guarded.send(th, "hi there", "asst_1", {
    images: ["https://example.com/cat.png"], files: ["file_1"] });
  assert.equal(reply.run.status, "completed");
  assert.match(reply.text, /echo: hi there/);
  const messages = await client.beta.threads.messages.list(th, { order: "asc" });
  const user = messages.data.find((m) => m.role === "user");
  assert.deepEqual(user.content.map((p) => p.type), ["text", "image_url"]);
  assert.equal(user.attachments[0].file_id, "file_1");
});

test("runs.create and createAndPoll return the finished run, its id in the lock's metadata meanwhile", async () => {
  const th = await thread(client);
  await guarded.beta.threads.messages.create(th, { role: "user", content: "q" });
  const call = guarded.beta.threads.runs.create(th, { assistant_id: "asst_1",
    metadata: { fake_seconds: "1" } });
  await eventually(async () => (await holderMeta(th)).run_id?.startsWith("run"), "the run id in metadata");
  assert.equal((await call).status, "completed");
  const polled = await guarded.beta.threads.runs.createAndPoll(th, { assistant_id: "asst_1" });
  assert.equal(polled.status, "completed");
  assert.deepEqual(await holders(locks, th), []);
});

test("a run already active on the thread is waited out, not collided with", async () => {
  const th = await thread(client);
  const before = await conflicts();
  await client.beta.threads.runs.create(th, { assistant_id: "a", metadata: { fake_seconds: "1" } });
  await guarded.beta.threads.messages.create(th, { role: "user", content: "after" });
  const run = await guarded.beta.threads.runs.create(th, { assistant_id: "a" });
  assert.equal(run.status, "completed");
  assert.equal(await conflicts(), before);
});

test("an orphaned run older than orphanRunAge is cancelled and the thread used", async () => {
  const th = await thread(client);
  const cancelled = (await stats()).cancelled.runs;
  await client.beta.threads.runs.create(th, { assistant_id: "a", metadata: { fake_seconds: "inf" } });
  const run = await guarded.withOptions({ orphanRunAge: 0 }).beta.threads.runs.create(th, { assistant_id: "a" });
  assert.equal(run.status, "completed");
  assert.equal((await stats()).cancelled.runs, cancelled + 1);
});

test("runs.stream and runs.create({ stream: true }) hold the lease for the whole stream", async () => {
  const th = await thread(client);
  await guarded.beta.threads.messages.create(th, { role: "user", content: "q" });
  for (const open of [
    () => guarded.beta.threads.runs.stream(th, { assistant_id: "a", metadata: { fake_seconds: "0.5" } }),
    () => guarded.beta.threads.runs.create(th, { assistant_id: "a", stream: true, metadata: { fake_seconds: "0.5" } }),
  ]) {
    const stream = await open();
    const kinds = [];
    for await (const event of stream) {
      if (kinds.length === 0) assert.equal((await holders(locks, th)).length, 1, "held while streaming");
      kinds.push(event.event);
    }
    assert.ok(kinds.includes("thread.run.completed"), kinds.join());
    assert.deepEqual(await holders(locks, th), []);
  }
});

test("an abandoned run stream cancels its run", async () => {
  const th = await thread(client);
  const cancelled = (await stats()).cancelled.runs;
  const stream = await guarded.beta.threads.runs.stream(th, { assistant_id: "a", metadata: { fake_seconds: "inf" } });
  for await (const event of stream) {
    if (event.event === "thread.run.created") break;
  }
  await eventually(async () => (await stats()).cancelled.runs === cancelled + 1, "the run's cancel");
  assert.deepEqual(await holders(locks, th), []);
});

test("unguarded parts of the client pass through; a guarded call needs its conversation", async () => {
  const conv = await guarded.conversations.create({});
  assert.match(conv.id, /^conv/);
  const resp = await guarded.responses.create({ conversation: { id: conv.id }, model: "m", input: "x" });
  assert.equal((await guarded.responses.retrieve(resp.id)).id, resp.id);
  assert.equal(guarded.client, client);
  await assert.rejects(guarded.responses.create({ model: "m", input: "x" }), /conversation:/);
  assert.throws(() => guarded.withOptions({ ttl: -1 }), /ttl: must be a positive/);
  assert.throws(() => guardOpenAI({}, locks), /openai: must be an OpenAI client/);
});

test("responses.stream holds the lease until the stream ends, after waiting out a busy conversation", async () => {
  const conv = await conversation(client);
  await client.responses.create({ conversation: conv, model: "m", input: "bypass",
    background: true, metadata: { fake_seconds: "1" } });
  const before = await conflicts();
  const stream = await guarded.responses.stream({ conversation: conv, model: "m", input: "st" });
  assert.ok(await conflicts() > before, "OpenAI's busy answer was met and retried");
  const kinds = [];
  for await (const event of stream) {
    if (kinds.length === 0) assert.equal((await holders(locks, conv)).length, 1, "held while streaming");
    kinds.push(event.type);
  }
  assert.equal(kinds[0], "response.created");
  assert.equal(kinds.at(-1), "response.completed");
  assert.match((await stream.inner.finalResponse()).output_text, /echo: st/);
  assert.deepEqual(await holders(locks, conv), []);
});

test("responses.parse runs under the conversation's lock", async () => {
  const conv = await conversation(client);
  const resp = await guarded.responses.parse({ conversation: conv, model: "m", input: "parse me" });
  assert.equal(resp.status, "completed");
  assert.deepEqual(await holders(locks, conv), []);
});

test("the caller's own signal aborts a guarded background call, cancels its response and frees the lock", async () => {
  const conv = await conversation(client);
  const cancelled = (await stats()).cancelled.responses;
  const caller = new AbortController();
  const call = guarded.responses.create({ conversation: conv, model: "m", input: "bg", background: true,
    metadata: { fake_seconds: "inf" } }, { signal: caller.signal });
  await eventually(async () => (await holderMeta(conv)).response_id, "the response id");
  caller.abort(new Error("the user went away"));
  await assert.rejects(call, /the user went away|aborted/i);
  await eventually(async () => (await stats()).cancelled.responses === cancelled + 1, "the cancel at the fake");
  await eventually(async () => (await holders(locks, conv)).length === 0, "the lock released");
});
