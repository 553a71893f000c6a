// Credentials against a coordinator with auth on (THREADLOCK_TEST_AUTH_ADDRESS), started by
// tests/test_typescript.py with an API key (THREADLOCK_TEST_API_KEY), a JWT signed by a key
// the test made (THREADLOCK_TEST_TOKEN) and a token file (THREADLOCK_TEST_TOKEN_FILE).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import { CoordinatorError, LockClient } from "@threadlock/client";
import { env, key } from "./helpers.js";

const address = (): string => env("THREADLOCK_TEST_AUTH_ADDRESS");

async function refusal(locks: LockClient): Promise<unknown> {
  return locks.acquire(key("auth"), { ttl: 5 }).then(() => "granted", (e: unknown) => e);
}

describe("auth", () => {
  test("without a credential the call is UNAUTHENTICATED", async () => {
    await using locks = new LockClient({ addresses: address() });
    const error = await refusal(locks);
    assert.ok(error instanceof CoordinatorError, String(error));
    assert.equal(error.code, "UNAUTHENTICATED");
  });

  test("apiKey and token are sent as authorization: Bearer", async () => {
    for (const options of [{ apiKey: env("THREADLOCK_TEST_API_KEY") }, { token: env("THREADLOCK_TEST_TOKEN") }]) {
      await using locks = new LockClient({ addresses: address(), ...options });
      const lease = await locks.acquire(key("auth"), { ttl: 5 });
      assert.equal((await locks.status({ key: lease.key }))[0]?.key, lease.key);
      assert.equal(await lease.release(), true);
    }
  });

  test("tokenFile is re-read when the file changes", async () => {
    const file = env("THREADLOCK_TEST_TOKEN_FILE");
    writeFileSync(file, env("THREADLOCK_TEST_TOKEN"));
    await using locks = new LockClient({ addresses: address(), tokenFile: file });
    const lease = await locks.acquire(key("auth-file"), { ttl: 5 });
    assert.equal(await lease.release(), true);
    writeFileSync(file, "not-a-valid-key-any-more\n");
    const error = await refusal(locks);
    assert.ok(error instanceof CoordinatorError && error.code === "UNAUTHENTICATED", String(error));
    writeFileSync(file, env("THREADLOCK_TEST_TOKEN") + "\n");
    await (await locks.acquire(key("auth-file"), { ttl: 5 })).release();
  });

  test("credential options are checked at construction", () => {
    assert.throws(() => new LockClient({ addresses: address(), token: "a", apiKey: "b" }), /exactly one/);
    assert.throws(() => new LockClient({ addresses: address(), tokenFile: "/nonexistent/token" }), /tokenFile: cannot read/);
  });
});
