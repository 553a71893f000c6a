"""Operating the HTTP port: off by default, its flag and variable, TLS and mutual TLS with the
gRPC port's files, metrics counting its calls, and a graceful stop together with gRPC."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import re
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from certs import Pki, make_pki
from harness import Coordinator, eventually, memory_config
from http_harness import base_url, call_json, post, with_http
from test_metrics import scrape, value

from threadlock import config as config_mod
from threadlock.config import ServerTls
from threadlock.http_face import HttpFace
from threadlock.locks import LockManager
from threadlock.memory import MemoryStore
from threadlock.metrics import Recorder
from threadlock.server import Server, StartupError
from threadlock.service import LockRpcs
from threadlock.v1 import lock_pb2 as pb


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


# --- configuration ----------------------------------------------------------------------------

async def test_off_by_default() -> None:
    assert config_mod.Config().http_listen == ""
    c = await Coordinator(memory_config()).start()
    try:
        assert c.server.http_port == 0
    finally:
        await c.stop()


def _parse(argv: list[str], env: dict[str, str]) -> config_mod.Config:
    parser = argparse.ArgumentParser()
    config_mod.add_arguments(parser)
    return config_mod.from_args(parser.parse_args(argv), env)


def test_flag_and_environment_variable() -> None:
    assert _parse([], {}).http_listen == ""
    assert _parse([], {"THREADLOCK_HTTP_LISTEN": "0.0.0.0:8080"}).http_listen == "0.0.0.0:8080"
    assert _parse(["--http-listen", "127.0.0.1:9"],
                  {"THREADLOCK_HTTP_LISTEN": "0.0.0.0:8080"}).http_listen == "127.0.0.1:9"
    with pytest.raises(ValueError, match=r"--http-listen \(from THREADLOCK_HTTP_LISTEN\)"):
        _parse([], {"THREADLOCK_HTTP_LISTEN": "8080"})
    taken = re.escape("--http-listen: 127.0.0.1:7 is already --listen")
    with pytest.raises(ValueError, match=taken):
        _parse(["--listen", "127.0.0.1:7", "--http-listen", "127.0.0.1:7"], {})


async def test_port_in_use_fails_start_naming_the_option() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = Server(dataclasses.replace(memory_config(), http_listen=f"127.0.0.1:{port}"))
        with pytest.raises(StartupError, match="--http-listen"):
            await server.start()


@pytest.fixture
def small_key(tmp_path: Path) -> ServerTls:
    """A self-signed certificate with a 1024-bit RSA key."""
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:1024", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-subj", "/CN=small", "-days", "1"],
                   check=True, capture_output=True, timeout=60)
    return ServerTls(cert_file=str(cert), key_file=str(key))


async def test_tls_files_https_refuses_fail_start_naming_them(small_key: ServerTls) -> None:
    """A 1024-bit RSA key: gRPC takes it, OpenSSL's defaults (Python's ssl) refuse it for
    HTTPS. The server must not start half-way; it says which files and why."""
    server = Server(with_http(dataclasses.replace(memory_config(), tls=small_key)))
    with pytest.raises(StartupError, match=r"--http-listen: the TLS files \(--tls-cert/--tls-key"
                                           r"\) are refused for HTTPS: EE_KEY_TOO_SMALL"):
        await server.start()


# --- TLS --------------------------------------------------------------------------------------

def _client_context(pki: Pki, *, with_cert: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.server.ca))
    if with_cert:
        ctx.load_cert_chain(str(pki.client.cert), str(pki.client.key))
    return ctx


async def _tls_coordinator(pki: Pki, *, mutual: bool) -> Coordinator:
    tls = ServerTls(cert_file=str(pki.server.cert), key_file=str(pki.server.key),
                    client_ca_file=str(pki.client.ca) if mutual else None)
    return await Coordinator(with_http(dataclasses.replace(memory_config(), tls=tls)),
                             channel_credentials=pki.client.channel_credentials()).start()


async def test_tls_serves_https_only(pki: Pki, session: aiohttp.ClientSession) -> None:
    c = await _tls_coordinator(pki, mutual=False)
    try:
        https = base_url(c, "https")
        ctx = _client_context(pki, with_cert=False)
        lease = (await call_json(session, https, "Acquire",
                                 {"key": "conv_tls", "owner": "w1", "ttl": "10s"},
                                 ssl_context=ctx))["lease"]
        # The gRPC port (same certificate) sees the lock taken over HTTPS.
        (state,) = await c.status("conv_tls")
        assert state.holder.fencing_token == int(lease["fencingToken"])
        with pytest.raises(aiohttp.ClientError):  # plaintext HTTP is not spoken
            await post(session, base_url(c), "Status", {"key": "conv_tls"})
        with pytest.raises(aiohttp.ClientConnectorCertificateError):  # unknown CA: refused
            await post(session, https, "Status", {"key": "conv_tls"},
                       ssl_context=ssl.create_default_context())
    finally:
        await c.stop()


async def test_mutual_tls_needs_a_client_certificate(pki: Pki,
                                                     session: aiohttp.ClientSession) -> None:
    c = await _tls_coordinator(pki, mutual=True)
    try:
        https = base_url(c, "https")
        answer = await call_json(session, https, "Status", {"key": "conv_m"},
                                 ssl_context=_client_context(pki, with_cert=True))
        assert answer["locks"] == []
        with pytest.raises(aiohttp.ClientError):
            await post(session, https, "Status", {"key": "conv_m"},
                       ssl_context=_client_context(pki, with_cert=False))
    finally:
        await c.stop()


# --- metrics ----------------------------------------------------------------------------------

async def test_metrics_count_http_calls(session: aiohttp.ClientSession) -> None:
    config = with_http(dataclasses.replace(memory_config(), metrics_listen="127.0.0.1:0"))
    c = await Coordinator(config).start()
    try:
        url = base_url(c)
        await call_json(session, url, "Acquire", {"key": "conv_x", "owner": "w1", "ttl": "10s"})
        await call_json(session, url, "Acquire", {"key": "conv_x", "owner": "w2", "ttl": "10s"})
        await post(session, url, "Acquire", {"key": "conv_x", "bogus": 1})
        await post(session, url, "Status", b"{nope")
        samples = await scrape(c)
        count = "threadlock_rpc_duration_seconds_count"
        assert value(samples, count, method="Acquire", code="OK") == 2
        assert value(samples, count, method="Acquire", code="INVALID_ARGUMENT") == 1
        assert value(samples, count, method="Status", code="INVALID_ARGUMENT") == 1
        assert value(samples, "threadlock_acquire_total", outcome="granted") == 1
        assert value(samples, "threadlock_acquire_total", outcome="busy") == 1
    finally:
        await c.stop()


# --- logs, and a bug's answer -------------------------------------------------------------------

async def test_http_grants_are_logged_like_grpc_ones(
        session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="threadlock")
    c = await Coordinator(with_http(memory_config())).start()
    try:
        await call_json(session, base_url(c), "Acquire",
                        {"key": "conv_log", "owner": "w-http", "ttl": "10s"})
    finally:
        await c.stop()
    grants = [r for r in caplog.records if r.name == "threadlock.locks"
              and getattr(r, "owner", None) == "w-http"]
    assert grants and getattr(grants[0], "key", None) == "conv_log"


class _Broken(LockRpcs):
    """Fault injection: Status hits a bug (an exception no RPC raises on purpose)."""

    async def Status(self, request: pb.StatusRequest, left: float | None) -> pb.StatusResponse:
        raise RuntimeError("bug with a secret detail /etc/secret")


async def test_a_bug_answers_internal_without_details_and_is_logged(
        session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryStore()
    face = HttpFace(_Broken(LockManager(store, memory_config().limits(), Recorder())),
                    Recorder(), None, set())
    port = await face.start("127.0.0.1:0")
    try:
        url = f"http://127.0.0.1:{port}"
        answer = await post(session, url, "Status", {"key": "k"})
        assert (answer.status, answer.code) == (500, "internal")
        assert answer.message == "internal error: RuntimeError"  # no traceback, no detail
        assert any(r.name == "threadlock.http" and r.exc_info for r in caplog.records)
        # The server is still up: the next call is answered.
        ok = await call_json(session, url, "Acquire", {"key": "k", "owner": "w", "ttl": "10s"})
        assert "lease" in ok
    finally:
        await face.stop(0)
        await store.close()


# --- shutdown ---------------------------------------------------------------------------------

async def test_stop_ends_queued_http_calls_and_closes_the_port(
        session: aiohttp.ClientSession) -> None:
    c = await Coordinator(with_http(memory_config())).start()
    stopped = False
    try:
        url = base_url(c)
        await call_json(session, url, "Acquire", {"key": "conv_g", "owner": "w1", "ttl": "30s"})
        # Busy within the grace period: answered, not cut off.
        short = asyncio.create_task(post(session, url, "Acquire", {
            "key": "conv_g", "owner": "w2", "ttl": "30s", "wait": "1s"}))
        # Queued past the grace period: cut off when it ends.
        long = asyncio.create_task(post(session, url, "Acquire", {
            "key": "conv_g", "owner": "w3", "ttl": "30s", "wait": "60s"}))
        await eventually(lambda: _waiters(c, ["w2", "w3"]))
        start = time.monotonic()
        await c.server.stop(grace=3.0)
        stopped = True
        assert time.monotonic() - start < 3.0 + 5.0 + 5.0  # grace + DRAIN_TIMEOUT + slack
        answered = await asyncio.wait_for(short, 10)
        assert answered.status == 200 and "busy" in answered.json
        with pytest.raises(aiohttp.ClientError):
            await asyncio.wait_for(long, 10)  # the connection was closed under it
        with pytest.raises(aiohttp.ClientConnectionError):  # the port is closed
            await post(session, url, "Status", {"key": "conv_g"})
    finally:
        if not stopped:
            await c.stop()
        elif c.channel is not None:
            await c.channel.close()


async def _waiters(c: Coordinator, owners: list[str]) -> bool:
    return sorted(await c.waiters("conv_g")) == owners


async def test_calls_arriving_during_shutdown_are_unavailable() -> None:
    """A new call on a kept-alive connection while the server stops: refused as unavailable
    (503), so that the client retries elsewhere, not queued behind a closing store."""
    c = await Coordinator(with_http(memory_config())).start()
    url = base_url(c)
    connector = aiohttp.TCPConnector(limit=1)  # one connection, kept alive between calls
    async with aiohttp.ClientSession(connector=connector) as one:
        other = aiohttp.ClientSession()
        try:
            await call_json(one, url, "Acquire", {"key": "conv_u", "owner": "w1", "ttl": "30s"})
            queued = asyncio.create_task(post(other, url, "Acquire", {
                "key": "conv_u", "owner": "w2", "ttl": "30s", "wait": "60s"}))
            await eventually(lambda: _waiters_of(c, "conv_u", ["w2"]))
            stopping = asyncio.create_task(c.server.stop(grace=5.0))
            await eventually(lambda: _http_stopping(c))
            answer = await post(one, url, "Status", {"key": "conv_u"})
            assert (answer.status, answer.code) == (503, "unavailable")
            assert answer.message == "server is shutting down"
            await asyncio.wait_for(stopping, 20)
            with pytest.raises(aiohttp.ClientError):
                await asyncio.wait_for(queued, 10)
        finally:
            await other.close()
            if c.channel is not None:
                await c.channel.close()


async def _waiters_of(c: Coordinator, key: str, owners: list[str]) -> bool:
    return await c.waiters(key) == owners


async def _http_stopping(c: Coordinator) -> bool:
    face = c.server._http
    return face is not None and face.stopping
