"""Running in a pod: the plaintext health port for probes (--health-listen) beside a TLS main
port, a shutdown that ends within --shutdown-grace + DRAIN_TIMEOUT even with etcd gone, JSON
log lines that name the key and owner, and the new options' parsing."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import grpc.aio
import pytest
from certs import Pki, make_pki
from etcd_server import EtcdServer
from grpc_health.v1 import health_pb2, health_pb2_grpc
from harness import Coordinator, etcd_config, eventually, memory_config, rpc_error, wait_serving

from threadlock import config as config_mod
from threadlock.config import Config, ServerTls
from threadlock.logs import JsonFormatter
from threadlock.server import DRAIN_TIMEOUT, LIVENESS_SERVICE
from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


async def _health(address: str, service: str = "") -> int:
    async with grpc.aio.insecure_channel(address) as channel:
        resp = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=5)
        return int(resp.status)


async def test_plaintext_health_port_beside_a_tls_port(
        pki: Pki, coordinators: list[Coordinator]) -> None:
    tls = ServerTls(cert_file=str(pki.server.cert), key_file=str(pki.server.key))
    config = dataclasses.replace(memory_config(), tls=tls, health_listen="127.0.0.1:0")
    creds = grpc.ssl_channel_credentials(root_certificates=pki.server.ca.read_bytes())
    c = await Coordinator(config, channel_credentials=creds).start()
    coordinators.append(c)
    await c.lease("conv_probe", "w1")  # the TLS port serves locks
    probe = f"127.0.0.1:{c.server.health_port}"
    assert c.server.health_port not in (0, int(c.address.rpartition(":")[2]))
    assert await _health(probe) == SERVING
    assert await _health(probe, "threadlock.v1.LockService") == SERVING
    # Only health on the plaintext port: no lock service there ...
    async with grpc.aio.insecure_channel(probe) as channel:
        err = await rpc_error(lock_pb2_grpc.LockServiceStub(channel).Status(
            pb.StatusRequest(prefix=""), timeout=5))
        assert err.code() == grpc.StatusCode.UNIMPLEMENTED
    # ... and the main port still refuses plaintext.
    err = await rpc_error(_health(c.address))
    assert err.code() == grpc.StatusCode.UNAVAILABLE


async def test_health_port_follows_etcd_and_shutdown(fresh_etcd: EtcdServer,
                                                     key_prefix: str) -> None:
    config = dataclasses.replace(etcd_config(fresh_etcd.endpoint, key_prefix),
                                 health_listen="127.0.0.1:0", health_interval=0.2)
    c = await Coordinator(config).start()
    probe = f"127.0.0.1:{c.server.health_port}"
    try:
        assert await _health(probe) == SERVING
        fresh_etcd.stop()
        await eventually(lambda: _health_is(probe, NOT_SERVING))
        # Readiness ("") is out, liveness stays in, on both ports: an etcd outage must not
        # make the kubelet restart the replicas.
        assert await _health(c.address) == NOT_SERVING
        for address in (probe, c.address):
            assert await _health(address, LIVENESS_SERVICE) == SERVING
        fresh_etcd.restart()
        await eventually(lambda: _health_is(probe, SERVING))
        # A call in flight holds the shutdown open for its grace period; meanwhile probes on
        # the health port already see NOT_SERVING.
        await c.lease("conv_s", "alice", ttl=30)
        waiter = asyncio.create_task(c.acquire("conv_s", "bob", ttl=30, wait=60))
        await eventually(lambda: c.waiters("conv_s"))
        stopping = asyncio.create_task(c.server.stop(grace=30))
        await eventually(lambda: _health_is(probe, NOT_SERVING))
        assert await _health(probe, LIVENESS_SERVICE) == NOT_SERVING  # shutting down: all out
        await c.server.stop(0)  # a second stop cuts the grace short, as a second SIGTERM
        await stopping
        err = await rpc_error(waiter)
        assert err.code() == grpc.StatusCode.UNAVAILABLE  # "Cancelling all calls": retry elsewhere
    finally:
        await c.stop()


async def test_liveness_serving_from_start_with_etcd_down(fresh_etcd: EtcdServer,
                                                          key_prefix: str) -> None:
    """A replica started while etcd is down is alive (startup and liveness probes pass) but
    not ready: restarting it could not bring etcd back."""
    fresh_etcd.stop()  # the fixture's teardown cleans up
    config = dataclasses.replace(etcd_config(fresh_etcd.endpoint, key_prefix),
                                 health_listen="127.0.0.1:0")
    c = await Coordinator(config).start()
    try:
        probe = f"127.0.0.1:{c.server.health_port}"
        for address in (probe, c.address):
            assert await _health(address, LIVENESS_SERVICE) == SERVING
            assert await _health(address) == NOT_SERVING
    finally:
        await c.stop()


async def _health_is(address: str, status: int) -> bool:
    try:
        return await _health(address) == status
    except grpc.aio.AioRpcError:
        return False


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="this host has no IPv6 loopback")
async def test_dual_stack_listeners_answer_ipv4_and_ipv6(coordinators: list[Coordinator]) -> None:
    """`[::]:PORT` (the chart's server.bindAddress "[::]") takes IPv4 and IPv6 on one port,
    for the API, the health port and the metrics endpoint alike."""
    config = dataclasses.replace(memory_config(), listen="[::]:0", health_listen="[::]:0",
                                 metrics_listen="[::]:0")
    c = await Coordinator(config).start()
    coordinators.append(c)
    port = int(c.address.rpartition(":")[2])
    for host in ("127.0.0.1", "[::1]"):
        for p in (port, c.server.health_port):
            assert await _health(f"{host}:{p}") == SERVING, (host, p)
        body = await asyncio.to_thread(_get, f"http://{host}:{c.server.metrics_port}/metrics")
        assert b"threadlock_build_info" in body


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as resp:
        body: bytes = resp.read()
        return body


async def test_shutdown_ends_within_grace_and_drain_with_etcd_down(
        fresh_etcd: EtcdServer, key_prefix: str) -> None:
    """Kubernetes kills the pod terminationGracePeriodSeconds after SIGTERM: the stop must end
    within --shutdown-grace + DRAIN_TIMEOUT even when the cut-off calls' cleanups cannot
    reach etcd (they would retry for minutes)."""
    c = await Coordinator(etcd_config(fresh_etcd.endpoint, key_prefix)).start()
    try:
        await c.lease("conv_down", "alice", ttl=30)
        waiters = [asyncio.create_task(c.acquire("conv_down", f"w{i}", ttl=30, wait=60))
                   for i in range(3)]
        await eventually(lambda: _count_waiters(c, "conv_down", 3))
        fresh_etcd.stop()
        grace = 0.5
        started = time.monotonic()
        # Generous slack on top of the promise: this is a bound, not a speed test.
        async with asyncio.timeout(grace + DRAIN_TIMEOUT + 20):
            await c.server.stop(grace)
        assert time.monotonic() - started >= grace  # the calls did get their grace
        for w in waiters:
            assert (await rpc_error(w)).code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await c.stop()


async def _count_waiters(c: Coordinator, key: str, n: int) -> bool:
    return len(await c.waiters(key)) == n


async def test_json_log_lines_name_key_and_owner(coord: Coordinator,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="threadlock.locks")
    lease = await coord.lease("conv_log", "worker-7", ttl=30)
    assert await coord.release(lease.lease_token)
    await rpc_error(coord.stub.KeepAlive(pb.KeepAliveRequest(lease_token=lease.lease_token),
                                         timeout=10))
    lines = {entry["msg"]: entry for entry in
             (json.loads(JsonFormatter().format(r)) for r in caplog.records
              if r.name == "threadlock.locks")}
    for msg in ("granted", "released"):
        entry = lines[msg]
        assert (entry["key"], entry["owner"], entry["fencing_token"]) == (
            "conv_log", "worker-7", lease.fencing_token), entry
        assert entry["level"] == "INFO" and entry["ts"].endswith("Z")
    refused = lines["keepalive refused: lease gone"]
    assert (refused["key"], refused["fencing_token"]) == ("conv_log", lease.fencing_token)


# --- options -------------------------------------------------------------------------------


def _from(argv: list[str], environ: dict[str, str] | None = None) -> Config:
    parser = argparse.ArgumentParser()
    config_mod.add_arguments(parser)
    return config_mod.from_args(parser.parse_args(argv), environ or {})


async def test_options_from_flags_and_environment() -> None:
    default = _from([])
    assert (default.metrics_listen, default.health_listen, default.metrics_interval) == (
        "", "", 15.0)
    env = {"THREADLOCK_METRICS_LISTEN": "0.0.0.0:9090",
           "THREADLOCK_HEALTH_LISTEN": "0.0.0.0:50052", "THREADLOCK_METRICS_INTERVAL": "30"}
    config = _from([], env)
    assert (config.metrics_listen, config.health_listen, config.metrics_interval) == (
        "0.0.0.0:9090", "0.0.0.0:50052", 30.0)
    assert _from(["--metrics-listen", "[::]:9091"], env).metrics_listen == "[::]:9091"
    for name in env:
        assert name in config_mod.ENV_VARS


@pytest.mark.parametrize(("argv", "env", "message"), [
    (["--metrics-listen", "9090"], {}, "--metrics-listen: must be host:port"),
    ([], {"THREADLOCK_HEALTH_LISTEN": "localhost:http"},
     r"--health-listen \(from THREADLOCK_HEALTH_LISTEN\): must be host:port"),
    (["--metrics-listen", "127.0.0.1:50051"], {},
     "--metrics-listen: 127.0.0.1:50051 is already --listen's address"),
    (["--metrics-listen", "0.0.0.0:9090", "--health-listen", "0.0.0.0:9090"], {},
     "--health-listen: 0.0.0.0:9090 is already --metrics-listen's address"),
    (["--metrics-interval", "0"], {}, "--metrics-interval: must be a positive number"),
])
async def test_bad_options_are_named(argv: list[str], env: dict[str, str],
                                     message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _from(argv, env)



# --- as the container runs it ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_configured_by_environment_exposes_metrics_and_health(tmp_path: Path) -> None:
    """`threadlock serve` configured only by THREADLOCK_* variables, as the Helm chart does:
    metrics over HTTP, health on its own port, JSON logs, exit 0 on SIGTERM."""
    address, metrics, probe = (f"127.0.0.1:{_free_port()}" for _ in range(3))
    env = {**os.environ, "THREADLOCK_LISTEN": address, "THREADLOCK_METRICS_LISTEN": metrics,
           "THREADLOCK_HEALTH_LISTEN": probe, "THREADLOCK_SHUTDOWN_GRACE": "2",
           "THREADLOCK_LOG_FORMAT": "json"}
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "threadlock", "serve"], env=env,
                                text=True, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_serving(probe, proc)  # plaintext health on the probe port
        with urllib.request.urlopen(f"http://{metrics}/metrics", timeout=10) as resp:
            body = resp.read().decode()
        assert 'threadlock_acquire_total{outcome="granted"} 0.0' in body
        assert "threadlock_build_info{" in body
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(e["msg"].startswith("listening on") for e in lines), lines
    assert any(e["msg"] == "stopped" for e in lines), lines
