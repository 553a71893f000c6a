"""Auth on the other ways in: the HTTP (Connect) face, mTLS peer identities (gRPC auth context
and the HTTPS peer certificate), JWKS from an issuer's discovery URL, and SIGHUP reload of a
`threadlock serve` process."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import signal
import ssl
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import grpc
import pytest
import pytest_asyncio
from aiohttp import web
from authkit import As, Signer, new_api_key, write_auth
from certs import Pki, make_pki
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from harness import Coordinator, etcd_config, memory_config, rpc_error, serve_process
from http_harness import base_url, post

from threadlock.config import ServerTls
from threadlock.v1.lock_pb2_grpc import LockServiceStub

SPIFFE = "spiffe://test.local/ns/team-m/sa/worker"


@pytest_asyncio.fixture(params=["memory", "etcd"])
async def http_world(request: pytest.FixtureRequest, tmp_path: Path,
                     key_prefix: str) -> AsyncIterator[tuple[Coordinator, str, str]]:
    (a, a_sha), (b, b_sha) = new_api_key(), new_api_key()
    path = write_auth(tmp_path / "auth.yaml", {"api_keys": [
        {"sha256": a_sha, "tenant": "team-a", "role": "locker"},
        {"sha256": b_sha, "tenant": "team-b", "role": "locker"}]})
    config = memory_config()
    if request.param == "etcd":
        config = etcd_config(request.getfixturevalue("etcd").endpoint, key_prefix)
    config = dataclasses.replace(config, auth_file=str(path), http_listen="127.0.0.1:0")
    c = await Coordinator(config).start()
    yield c, a, b
    await c.stop()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_http_face_authenticates_and_scopes_like_grpc(
        http_world: tuple[Coordinator, str, str]) -> None:
    c, a, b = http_world
    url, k = base_url(c), f"conv_{uuid.uuid4().hex[:8]}"
    acquire = {"key": k, "owner": "w", "ttl": "10s"}
    async with aiohttp.ClientSession() as s:
        for headers in ({}, bearer("nope"), {"Authorization": "Basic x"}):
            answer = await post(s, url, "Acquire", acquire, headers=headers)
            assert (answer.status, answer.code) == (401, "unauthenticated"), answer.raw
        granted = await post(s, url, "Acquire", acquire, headers=bearer(a))
        assert granted.status == 200 and granted.json["lease"]["key"] == k
        token = granted.json["lease"]["leaseToken"]
        # Tenant b: its own lock on the same key, and no say over a's.
        other = await post(s, url, "Acquire", acquire, headers=bearer(b))
        assert other.status == 200 and "lease" in other.json
        for method in ("Release", "KeepAlive"):
            refused = await post(s, url, method, {"leaseToken": token}, headers=bearer(b))
            assert (refused.status, refused.code) == (403, "permission_denied")
        listed = await post(s, url, "Status", {}, headers=bearer(a))
        assert [lock["key"] for lock in listed.json["locks"]] == [k]
    # The gRPC face sees the same, scoped the same.
    assert await As(c, a).keys() == [k]


# --- mTLS identities -------------------------------------------------------------------------


def _client_cert(pki: Pki, out: Path, san: x509.GeneralName) -> tuple[Path, Path]:
    """A client certificate signed by `pki`'s CA with the one SAN `san`."""
    ca_cert = x509.load_pem_x509_certificate(pki.client.ca.read_bytes())
    ca_key = serialization.load_pem_private_key((pki.client.ca.parent / "ca.key").read_bytes(),
                                                None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "workload")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([san]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    cert_path, key_path = out / f"{uuid.uuid4().hex[:6]}.pem", out / f"{uuid.uuid4().hex[:6]}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


async def test_mtls_identities_come_from_the_certificate(pki: Pki, tmp_path: Path,
                                                         coordinators: list[Coordinator]) -> None:
    path = write_auth(tmp_path / "auth.yaml", {"mtls": [
        {"uri": SPIFFE, "tenant": "team-m", "role": "locker"},
        {"dns": "reports.team-m.svc", "tenant": "team-m", "role": "viewer"}]})
    tls = ServerTls(str(pki.server.cert), str(pki.server.key), str(pki.client.ca))
    config = dataclasses.replace(memory_config(), tls=tls, auth_file=str(path),
                                 http_listen="127.0.0.1:0")
    ca = pki.server.ca.read_bytes()
    worker = _client_cert(pki, tmp_path, x509.UniformResourceIdentifier(SPIFFE))
    reports = _client_cert(pki, tmp_path, x509.DNSName("reports.team-m.svc"))

    def creds(files: tuple[Path, Path]) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(ca, files[1].read_bytes(), files[0].read_bytes())

    c = await Coordinator(config, creds(worker)).start()
    coordinators.append(c)
    k = f"conv_{uuid.uuid4().hex[:8]}"
    await As(c, None).lease(k)  # no token: the SPIFFE id is the credential
    # A header claiming an identity is not one: a bearer that is no key is refused.
    err = await rpc_error(As(c, SPIFFE).keys())
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    # The DNS-named workload is a viewer of the same tenant; the test CA's plain client
    # certificate (no listed identity) is nobody.
    for files, expect in ((reports, grpc.StatusCode.PERMISSION_DENIED),
                          ((pki.client.cert, pki.client.key), grpc.StatusCode.UNAUTHENTICATED)):
        async with grpc.aio.secure_channel(c.address, creds(files)) as channel:
            other = Coordinator(config)
            other.stub = LockServiceStub(channel)
            if expect == grpc.StatusCode.PERMISSION_DENIED:
                assert await As(other, None).keys() == [k]
            err = await rpc_error(As(other, None).acquire(f"{k}-2"))
            assert err.code() == expect, err
    # The HTTPS face reads the same identity from its TLS peer certificate.
    context = ssl.create_default_context(cafile=str(pki.server.ca))
    context.load_cert_chain(str(worker[0]), str(worker[1]))
    async with aiohttp.ClientSession() as s:
        listed = await post(s, base_url(c, "https"), "Status", {}, ssl_context=context)
        assert listed.status == 200 and [x["key"] for x in listed.json["locks"]] == [k]


# --- JWKS from OIDC discovery ----------------------------------------------------------------


async def test_jwks_from_the_issuers_discovery_url(tmp_path: Path,
                                                   coordinators: list[Coordinator]) -> None:
    signer = Signer("d1")
    app = web.Application()
    runner = web.AppRunner(app)
    issuer = ""

    async def discovery(_: web.Request) -> web.Response:
        return web.json_response({"issuer": issuer, "jwks_uri": issuer + "/keys"})

    async def keys(_: web.Request) -> web.Response:
        return web.json_response({"keys": [signer.jwk]})

    app.router.add_get("/.well-known/openid-configuration", discovery)
    app.router.add_get("/keys", keys)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        issuer = f"http://127.0.0.1:{runner.addresses[0][1]}"
        path = write_auth(tmp_path / "auth.yaml", {"jwt": [
            {"issuer": issuer, "discovery": True, "algorithms": ["RS256"]}]})
        c = await Coordinator(dataclasses.replace(memory_config(), auth_file=str(path))).start()
        coordinators.append(c)
        k = f"conv_{uuid.uuid4().hex[:8]}"
        await As(c, signer.token("team-d", iss=issuer)).lease(k)
        assert await As(c, signer.token("team-d", iss=issuer)).keys() == [k]
        err = await rpc_error(As(c, Signer("d1").token("team-d", iss=issuer)).keys())
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await runner.cleanup()


# --- SIGHUP ----------------------------------------------------------------------------------


def test_sighup_reloads_the_auth_file(tmp_path: Path) -> None:
    (old, old_sha), (new, new_sha) = new_api_key(), new_api_key()
    path = write_auth(tmp_path / "auth.yaml", {"api_keys": [
        {"sha256": old_sha, "tenant": "team-a", "role": "locker"}]})
    log = tmp_path / "serve.log"
    proc, address = serve_process({"THREADLOCK_AUTH_FILE": str(path),
                                   "THREADLOCK_LOG_FORMAT": "json"}, log)
    try:
        write_auth(path, {"api_keys": [{"sha256": new_sha, "tenant": "team-a",
                                        "role": "locker"}]})
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while not any(json.loads(line).get("reason") == "SIGHUP"
                      for line in log.read_text().splitlines() if line.startswith("{")):
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.05)
        assert old not in log.read_text() and new not in log.read_text()
        async def check() -> None:
            c = Coordinator(memory_config())
            async with grpc.aio.insecure_channel(address) as channel:
                c.stub = LockServiceStub(channel)
                assert await As(c, new).keys() == []
                err = await rpc_error(As(c, old).keys())
                assert err.code() == grpc.StatusCode.UNAUTHENTICATED

        asyncio.run(check())
    finally:
        proc.terminate()
        proc.wait(timeout=30)

