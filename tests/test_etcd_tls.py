"""etcd over mutual TLS: a coordinator configured with a CA, a client certificate and a key
(--etcd-ca/--etcd-cert/--etcd-key) and an https:// endpoint serves locks from an etcd that
demands client certificates; one without TLS, or without a client certificate, is NOT_SERVING
and fails calls with UNAVAILABLE within their deadline instead of hanging.

The certificates (a CA, a server certificate for IP:127.0.0.1 and DNS:localhost, a client
certificate) are made for each test by the ``openssl`` command line tool (tests/certs.py).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import grpc.aio
import pytest
from certs import Pki, make_pki
from etcd_server import EtcdServer
from grpc_health.v1 import health_pb2, health_pb2_grpc
from harness import Coordinator, etcd_config, eventually, rpc_error

from threadlock.config import Config, EtcdTls
from threadlock.internal.etcd import rpc_pb2, rpc_pb2_grpc

pytestmark = [pytest.mark.asyncio, pytest.mark.etcd]

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING

@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
def tls_etcd(tmp_path: Path, pki: Pki) -> Iterator[EtcdServer]:
    """An etcd of this test's own that only talks mutual TLS to clients."""
    server = EtcdServer(tmp_path / "etcd", tls=pki.server, client_tls=pki.client)
    server.start()
    yield server
    server.kill()


def _config(etcd: EtcdServer, key_prefix: str, tls: EtcdTls | None) -> Config:
    return dataclasses.replace(etcd_config(etcd.client_url, key_prefix), etcd_tls=tls)


async def _start(coordinators: list[Coordinator], config: Config) -> Coordinator:
    c = await Coordinator(config).start()
    coordinators.append(c)
    return c


async def _health_is(c: Coordinator, status: int) -> bool:
    assert c.channel is not None
    stub = health_pb2_grpc.HealthStub(c.channel)
    for service in ("", "threadlock.v1.LockService"):
        resp = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        if resp.status != status:
            return False
    return True


async def _keys_under(etcd: EtcdServer, prefix: str) -> int:
    """How many keys etcd holds under `prefix`, read directly over mutual TLS."""
    assert etcd.client_tls is not None
    start = prefix.encode()
    end = start[:-1] + bytes([start[-1] + 1])
    async with grpc.aio.secure_channel(etcd.endpoint,
                                       etcd.client_tls.channel_credentials()) as channel:
        resp = await rpc_pb2_grpc.KVStub(channel).Range(
            rpc_pb2.RangeRequest(key=start, range_end=end, count_only=True), timeout=10)
    return int(resp.count)


async def test_mutual_tls_serves_locks(tls_etcd: EtcdServer, pki: Pki, key_prefix: str,
                                       coordinators: list[Coordinator]) -> None:
    assert tls_etcd.client_url.startswith("https://127.0.0.1:")
    tls = EtcdTls(ca_file=str(pki.client.ca), cert_file=str(pki.client.cert),
                  key_file=str(pki.client.key))
    c = await _start(coordinators, _config(tls_etcd, key_prefix, tls))
    await eventually(functools.partial(_health_is, c, SERVING))

    lease = await c.lease("conv_tls", "w1", ttl=10)
    busy = await c.acquire("conv_tls", "w2")
    assert busy.WhichOneof("result") == "busy", busy
    assert busy.busy.holder.owner == "w1"
    assert busy.busy.holder.fencing_token == lease.fencing_token
    (state,) = await c.status("conv_tls")
    assert state.holder.owner == "w1"
    # The lock lives in this (TLS-only) etcd, under this test's prefix.
    assert await _keys_under(tls_etcd, key_prefix) > 0

    assert await c.release(lease.lease_token)
    assert await c.status("conv_tls") == []
    again = await c.lease("conv_tls", "w2", ttl=10)
    assert again.fencing_token > lease.fencing_token
    assert await c.release(again.lease_token)
    assert await _health_is(c, SERVING)


async def _refused(c: Coordinator) -> None:
    """`c` cannot reach etcd: NOT_SERVING, and Acquire fails UNAVAILABLE within its deadline."""
    await eventually(functools.partial(_health_is, c, NOT_SERVING))
    for wait in (0.0, 10.0):
        start = time.monotonic()
        err = await rpc_error(c.acquire("conv_tls", "w1", wait=wait, timeout=3))
        assert err.code() == grpc.StatusCode.UNAVAILABLE, err
        assert time.monotonic() - start < 4.0  # the deadline (3 s), never a hang
    assert await _health_is(c, NOT_SERVING)


async def test_coordinator_without_tls_is_refused(tls_etcd: EtcdServer, key_prefix: str,
                                                  coordinators: list[Coordinator]) -> None:
    c = await _start(coordinators, _config(tls_etcd, key_prefix, None))
    await _refused(c)


async def test_coordinator_without_client_certificate_is_refused(
        tls_etcd: EtcdServer, pki: Pki, key_prefix: str,
        coordinators: list[Coordinator]) -> None:
    # Server-verified TLS alone is not enough: this etcd demands a client certificate.
    c = await _start(coordinators,
                     _config(tls_etcd, key_prefix, EtcdTls(ca_file=str(pki.client.ca))))
    await _refused(c)
