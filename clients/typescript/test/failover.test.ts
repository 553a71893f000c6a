// Failover and deadlines: a first address that is down (refused) or hung (accepts, never
// answers) costs a retry, not the call; with no coordinator at all every call ends with
// Unavailable within its deadline instead of hanging.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LockClient, Unavailable } from "@threadlock/client";
import { address, deadPort, gate, key } from "./helpers.js";

describe("failover", () => {
  test("the first address a dead port: acquire, renew, status and release go to the second", async () => {
    await using locks = new LockClient({ addresses: [await deadPort(), address()], owner: "ts-failover" });
    const name = key("failover");
    const lease = await locks.acquire(name, { ttl: 2 });
    assert.ok(lease.fencingToken > 0n);
    assert.equal((await locks.status({ key: name }))[0]?.holder?.owner, "ts-failover");
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // renewed across its TTL
    assert.equal(lease.lost, false, lease.lostReason ?? "");
    assert.equal(await lease.release(), true);
  });

  test("a hung first address (accepts, never answers) fails over within the call deadline", async () => {
    const hung = await gate(address(), true);
    try {
      await using locks = new LockClient({ addresses: [hung.address, address()], callTimeout: 4 });
      const lease = await locks.acquire(key("hung"), { ttl: 5 });
      assert.equal(await lease.release(), true);
    } finally {
      hung.close();
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
    const hung = await gate(address(), true);
    try {
      await using locks = new LockClient({ addresses: hung.address, callTimeout: 1 });
      await assert.rejects(locks.acquire(key("hang"), { ttl: 5 }), Unavailable);
    } finally {
      hung.close();
    }
  });
});
