// Failover and deadlines: a first address that is down (refused) or hung (accepts, never
// answers) costs a retry, not the call; with no coordinator at all every call ends with
// Unavailable within its deadline instead of hanging.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Unavailable } from "@threadlock/client";
import { LockClient, address, deadPort, eventually, gate, key } from "./helpers.js";

describe("failover", () => {
  test("the first address a dead port: acquire, renew, status and release go to the second", async () => {
    // A comma-separated string, as $THREADLOCK_ADDRESS takes it.
    await using locks = new LockClient({ addresses: `${await deadPort()}, ${address()}`, owner: "ts-failover" });
    const name = key("failover");
    const lease = await locks.acquire(name, { ttl: 2 });
    assert.ok(lease.fencingToken > 0n);
    assert.equal((await locks.status({ key: name }))[0]?.holder?.owner, "ts-failover");
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // renewed across its TTL
    assert.equal(lease.lost, false, lease.lostReason ?? "");
    assert.equal(await lease.release(), true);
  });

  test("a hung first address (accepts, never answers) fails over within the call deadline", async () => {
    const hung = await gate(address(), "hang");
    try {
      await using locks = new LockClient({ addresses: [hung.address, address()], callTimeout: 4 });
      const lease = await locks.acquire(key("hung"), { ttl: 5 });
      assert.equal(await lease.release(), true);
    } finally {
      hung.close();
    }
  });
});

describe("an acquire without an answer", () => {
  test("aborted after the coordinator granted it: the grant is found and released", async () => {
    // The first address serves requests but its answers never come back: the Acquire is
    // granted at the coordinator, and the caller, not knowing, gives up (its signal aborts).
    const deaf = await gate(address(), "deaf");
    const name = key("abandon");
    const observer = new LockClient({ addresses: address() });
    try {
      await using locks = new LockClient({ addresses: [deaf.address, address()], owner: "ts-abandon", releaseTimeout: 10 });
      const controller = new AbortController();
      const pending = locks.acquire(name, { ttl: 60, signal: controller.signal });
      const held = async (): Promise<boolean> => (await observer.status({ key: name }))[0]?.holder?.owner === "ts-abandon";
      await eventually(held, "the unanswered grant");
      controller.abort();
      await assert.rejects(pending, (error: unknown) => error instanceof Error && error.name === "AbortError");
      // The SDK cleans up in the background (same request_id, try-once, release); the lease's
      // own TTL (60 s) is far longer than this wait, so only the cleanup can free the key.
      await eventually(async () => (await observer.status({ key: name })).length === 0,
        "the cleanup to release the orphaned grant", 20_000);
    } finally {
      deaf.close();
      await observer.close();
    }
  });
});

describe("coordinator down", () => {
  test("every call ends with Unavailable within its deadline", async () => {
    await using locks = new LockClient({ addresses: [await deadPort(), await deadPort()], callTimeout: 2 });
    const started = performance.now();
    const error = await locks.acquire(key("down"), { ttl: 5, wait: 1 }).then(() => "granted", (e: unknown) => e);
    assert.ok(error instanceof Unavailable, String(error));
    assert.equal(error.name, "Unavailable");
    assert.equal(error.code, "UNAVAILABLE");
    // wait (1 s) + callTimeout (2 s), with generous room for a loaded machine: bounded, not hung.
    assert.ok(performance.now() - started < 15_000);
    await assert.rejects(locks.status({ key: "x" }), Unavailable);
  });

  test("a coordinator that never answers ends with Unavailable, not a hang", async () => {
    const hung = await gate(address(), "hang");
    try {
      await using locks = new LockClient({ addresses: hung.address, callTimeout: 1 });
      await assert.rejects(locks.acquire(key("hang"), { ttl: 5 }), Unavailable);
    } finally {
      hung.close();
    }
  });
});
