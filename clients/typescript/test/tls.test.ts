// TLS and mutual TLS: the pytest wrapper starts a coordinator that serves TLS
// (THREADLOCK_TEST_TLS_ADDRESS) and one that also demands a client certificate
// (THREADLOCK_TEST_MTLS_ADDRESS), with certificates from tests/certs.py (THREADLOCK_TEST_PKI).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { CoordinatorError, LockClient } from "@threadlock/client";
import { env, key } from "./helpers.js";

const pki = env("THREADLOCK_TEST_PKI");
const ca = join(pki, "ca.pem");
const cert = join(pki, "client.pem");
const clientKey = join(pki, "client.key");

describe("TLS", () => {
  test("a TLS coordinator verified with the CA (a path) grants locks", async () => {
    await using locks = new LockClient({ addresses: env("THREADLOCK_TEST_TLS_ADDRESS"), tls: { ca } });
    const lease = await locks.acquire(key("tls"), { ttl: 5 });
    assert.equal((await locks.status({ key: lease.key }))[0]?.holder?.fencingToken, lease.fencingToken);
    assert.equal(await lease.release(), true);
  });

  test("without the CA, the coordinator's certificate is refused (not retried: a setup error)", async () => {
    await using locks = new LockClient({ addresses: env("THREADLOCK_TEST_TLS_ADDRESS"), tls: {}, callTimeout: 2 });
    const error = await locks.acquire(key("tls-untrusted"), { ttl: 5 }).then(() => "granted", (e: unknown) => e);
    assert.ok(error instanceof CoordinatorError, String(error));
    assert.match(error.message, /certificate/);
  });

  test("plaintext to a TLS coordinator is refused", async () => {
    await using locks = new LockClient({ addresses: env("THREADLOCK_TEST_TLS_ADDRESS"), callTimeout: 2 });
    const error = await locks.acquire(key("tls-plain"), { ttl: 5 }).then(() => "granted", (e: unknown) => e);
    assert.ok(error instanceof CoordinatorError, String(error));
  });

  test("mutual TLS with a client certificate (PEM buffers) grants locks", async () => {
    await using locks = new LockClient({
      addresses: env("THREADLOCK_TEST_MTLS_ADDRESS"),
      tls: { ca: readFileSync(ca), cert: readFileSync(cert), key: readFileSync(clientKey) },
    });
    const lease = await locks.acquire(key("mtls"), { ttl: 5 });
    assert.equal(await lease.release(), true);
  });

  test("mutual TLS without a client certificate is refused", async () => {
    await using locks = new LockClient({ addresses: env("THREADLOCK_TEST_MTLS_ADDRESS"), tls: { ca }, callTimeout: 2 });
    const error = await locks.acquire(key("mtls-nocert"), { ttl: 5 }).then(() => "granted", (e: unknown) => e);
    assert.ok(error instanceof CoordinatorError, String(error));
  });
});
