// A held lease over time: background renewal keeps it beyond 3x its TTL; loss is reported
// (lease.signal aborts with LeaseLost, check() throws, withLock throws after the body) when
// the coordinator refuses renewals because the token was released behind the SDK's back;
// sessions: one lease per client, its locks renewed with it, lost with it, freed by close().
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { after, describe, test } from "node:test";
import { LeaseLost, ThreadlockError } from "@threadlock/client";
import { LockClient, aborted, address, gate, key, raw, within } from "./helpers.js";

const locks = new LockClient({ addresses: address(), owner: "ts-holder" });
const other = new LockClient({ addresses: address(), owner: "ts-other" });
after(async () => {
  await locks.close();
  await other.close();
});

describe("renewal and loss", () => {
  test("renewal keeps a lease (ttl 2) beyond 3x its TTL", async () => {
    const name = key("renew");
    const lease = await locks.acquire(name, { ttl: 2 });
    await delay(7_000);
    assert.equal(lease.lost, false, lease.lostReason ?? "");
    assert.equal(lease.signal.aborted, false);
    lease.check();
    const busy = await other.acquire(name, { ttl: 2 }).then(() => "granted", (e: unknown) => e);
    assert.ok(busy instanceof Error && busy.name === "ThreadBusy", String(busy));
    assert.ok(lease.expiresAt.getTime() > Date.now());
    assert.equal(await lease.release(), true);
  });

  test("a token released behind its back: signal aborts with LeaseLost, check() throws", async () => {
    const name = key("lost");
    const lease = await locks.acquire(name, { ttl: 2 });
    await raw().release({ leaseToken: lease.leaseToken });
    const reason = await within(aborted(lease.signal), 10_000, "lease.signal to abort");
    assert.ok(reason instanceof LeaseLost, String(reason));
    assert.equal(reason.name, "LeaseLost");
    assert.equal(reason.key, name);
    assert.equal(reason.fencingToken, lease.fencingToken);
    assert.match(reason.reason, /refused to renew/);
    assert.equal(lease.lost, true);
    assert.throws(() => { lease.check(); }, LeaseLost);
    assert.equal(await lease.release(), false);
  });

  test("withLock throws LeaseLost after a body during which the lease was lost", async () => {
    const name = key("withlost");
    const error = await locks.withLock(name, { ttl: 2 }, async (lease) => {
      await raw().release({ leaseToken: lease.leaseToken });
      await within(aborted(lease.signal), 10_000, "lease.signal to abort");
      return "finished";
    }).then((value) => value, (e: unknown) => e);
    assert.ok(error instanceof LeaseLost, String(error));
  });

  test("withLock turns the body's abort by lease.signal into LeaseLost", async () => {
    const name = key("withabort");
    const error = await locks.withLock(name, { ttl: 2 }, async (lease) => {
      await raw().release({ leaseToken: lease.leaseToken });
      await delay(30_000, undefined, { signal: lease.signal }); // the protected work
    }).then(() => "finished", (e: unknown) => e);
    assert.ok(error instanceof LeaseLost, String(error));
  });
});

describe("sessions", () => {
  test("one session per client: its locks share it and live beyond 3x its TTL", async () => {
    const client = new LockClient({ addresses: address(), owner: "ts-session", session: true, sessionTtl: 2 });
    try {
      const a = await client.acquire(key("sa"), { wait: 1 });
      const b = await client.acquire(key("sb"));
      assert.ok(a.sessionId.length > 0);
      assert.equal(a.sessionId, b.sessionId);
      await delay(7_000);
      assert.equal(a.lost, false, a.lostReason ?? "");
      assert.equal(b.lost, false, b.lostReason ?? "");
      assert.equal((await other.status({ key: a.key }))[0]?.holder?.owner, "ts-session");
      assert.equal(await a.release(), true);
      assert.deepEqual(await other.status({ key: a.key }), []);
      assert.equal(b.lost, false);
    } finally {
      await client.close();
    }
  });

  test("close() ends the session and frees its locks at once", async () => {
    const client = new LockClient({ addresses: address(), owner: "ts-session", session: true });
    const name = key("sclose");
    const lease = await client.acquire(name);
    await client.close();
    assert.equal(lease.lost, true);
    assert.ok(lease.signal.aborted);
    const next = await other.acquire(name, { ttl: 5 });
    await next.release();
  });

  test("a session ended behind its back loses its locks; the next acquire opens a new one", async () => {
    const client = new LockClient({ addresses: address(), owner: "ts-session", session: true, sessionTtl: 3 });
    try {
      const lease = await client.acquire(key("sgone"));
      await raw().closeSession({ sessionId: lease.sessionId });
      const reason = await within(aborted(lease.signal), 10_000, "lease.signal to abort");
      assert.ok(reason instanceof LeaseLost, String(reason));
      assert.match(reason.reason, /session/);
      const again = await client.acquire(key("sgone2"));
      assert.notEqual(again.sessionId, lease.sessionId);
      await again.release();
    } finally {
      await client.close();
    }
  });
});

describe("close", () => {
  test("after close() a lease of the client is no longer renewed: it is reported lost", async () => {
    const client = new LockClient({ addresses: address(), owner: "ts-closing" });
    const lease = await client.acquire(key("closed"), { ttl: 2 });
    await client.close();
    const reason = await within(aborted(lease.signal), 10_000, "lease.signal to abort");
    assert.ok(reason instanceof LeaseLost, String(reason));
    await assert.rejects(client.acquire(key("closed2")), ThreadlockError);
    await client.close(); // idempotent
  });
});

describe("the coordinator out of reach", () => {
  test("a lease nobody can renew is declared lost by the local clock before its TTL", async () => {
    const coordinator = await gate(address());
    const client = new LockClient({ addresses: coordinator.address, owner: "ts-clock", callTimeout: 1 });
    try {
      const lease = await client.acquire(key("clock"), { ttl: 2 });
      coordinator.close(); // renewals fail from now on
      const reason = await within(aborted(lease.signal), 15_000, "lease.signal to abort");
      assert.ok(reason instanceof LeaseLost, String(reason));
      assert.match(reason.reason, /TTL lapsed/);
      assert.equal(lease.lost, true);
    } finally {
      await client.close();
    }
  });
});
