"""Shared fixtures. Add new fixtures in their own section below; keep each one small.

etcd: tests run against a real etcd (threadlock.local_etcd, via tests/etcd_server.py), never a
mock, and never skip for want of one: without an etcd binary the fixtures fail and say how to
install it. The release is the current one (threadlock.etcd.versions.CURRENT, what setup.sh
builds); a module runs its tests on the oldest supported release (OLDEST_TESTED) as well with
``pytest.mark.parametrize("etcd_release", ETCD_RELEASES, indirect=True)`` (fixtures
shared_etcd, fresh_etcd) or ``pytest.mark.parametrize("coord", COORD_ALL_ETCD, indirect=True)``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from etcd_cluster import EtcdCluster
from etcd_server import ETCD_RELEASES, EtcdServer, etcd_binary
from harness import Coordinator, etcd_config, memory_config, serve_process

from threadlock.etcd import versions
from threadlock.etcd.store import EtcdStore
from threadlock.memory import MemoryStore
from threadlock.store import Store

# --- order ------------------------------------------------------------------------------------

# Modules whose builds scripts/test.sh runs in the background (tests/background_builds.py): last,
# so that those builds have the whole rest of the run to finish.
BACKGROUND_BUILT = ("test_k8s_chart.py", "test_image_build.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name in BACKGROUND_BUILT)  # stable: order kept


# --- etcd -------------------------------------------------------------------------------------


def _binary(release: str) -> str | None:
    """None (find_etcd's choice: the current release) or the oldest supported one's binary."""
    return None if release == "current" else etcd_binary(versions.OLDEST_TESTED)


@pytest.fixture(scope="session")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdServer]:
    """One etcd shared by the whole session. Don't stop or kill it (use fresh_etcd); keep your
    keys under ``key_prefix`` so tests never see each other's keys."""
    server = EtcdServer(tmp_path_factory.mktemp("etcd-shared"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def etcd_oldest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdServer]:
    """Like `etcd`, on the oldest supported etcd release (versions.OLDEST_TESTED)."""
    server = EtcdServer(tmp_path_factory.mktemp("etcd-oldest"), binary=_binary("oldest"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def etcd_release(request: pytest.FixtureRequest) -> str:
    """"current" unless the test is parametrized over ETCD_RELEASES (indirect=True)."""
    release: str = getattr(request, "param", "current")
    assert release in ETCD_RELEASES, release
    return release


@pytest.fixture
def shared_etcd(request: pytest.FixtureRequest, etcd_release: str) -> EtcdServer:
    """The session's shared etcd of `etcd_release`: `etcd` or `etcd_oldest`."""
    server: EtcdServer = request.getfixturevalue(
        "etcd" if etcd_release == "current" else "etcd_oldest")
    return server


@pytest.fixture
def fresh_etcd(tmp_path: Path, etcd_release: str) -> Iterator[EtcdServer]:
    """An etcd of this test's own, which it may stop, kill and restart (same ports and data)."""
    server = EtcdServer(tmp_path / "etcd", binary=_binary(etcd_release))
    server.start()
    yield server
    server.kill()


@pytest.fixture
def etcd_cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EtcdCluster]:
    """A 3-member etcd cluster of this test's own (tests/etcd_cluster.py) on the current
    release: any member may be killed, paused or restarted by PID. Parametrize indirectly with
    a number to set --quota-backend-bytes (the NOSPACE scenario)."""
    cluster = EtcdCluster(tmp_path / "etcd-cluster", quota_bytes=getattr(request, "param", None))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def key_prefix() -> str:
    """A key prefix unique to this test, e.g. "/tl-test/1a2b3c4d/"."""
    return f"/tl-test/{uuid.uuid4().hex[:8]}/"


# --- stores ---------------------------------------------------------------------------------


@pytest_asyncio.fixture(params=["memory", "etcd"])
async def store(request: pytest.FixtureRequest, key_prefix: str) -> AsyncIterator[Store]:
    """A `Store` for LockManager-level tests: the embedded one, and one on a real etcd."""
    s: Store
    if request.param == "memory":
        s = MemoryStore()
    else:
        etcd: EtcdServer = request.getfixturevalue("etcd")
        s = await EtcdStore.connect([etcd.endpoint], key_prefix, None, 5.0)
    yield s
    await s.close()


# --- coordinators ---------------------------------------------------------------------------


@pytest_asyncio.fixture(params=["memory", "etcd"])
async def coord(request: pytest.FixtureRequest, key_prefix: str) -> AsyncIterator[Coordinator]:
    """One coordinator replica, once per backend: the embedded store and a real etcd (and the
    oldest supported etcd, "etcd-oldest", where a module parametrizes it with COORD_ALL_ETCD)."""
    if request.param == "memory":
        config = memory_config()
    else:
        server: EtcdServer = request.getfixturevalue(
            "etcd" if request.param == "etcd" else "etcd_oldest")
        config = etcd_config(server.endpoint, key_prefix)
    c = await Coordinator(config).start()
    yield c
    await c.stop()


@pytest_asyncio.fixture
async def coordinators() -> AsyncIterator[list[Coordinator]]:
    """Coordinators a test starts itself (append them), stopped at its end."""
    started: list[Coordinator] = []
    yield started
    for c in started:
        await c.stop()


# --- coordinator processes (for clients that block, like the sync SDK, and for many processes)


@pytest.fixture(scope="session", params=["memory", "etcd"])
def served(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a `threadlock serve` process, once per backend, shared by the session:
    keep your keys unique (e.g. with uuid)."""
    env: dict[str, str] = {}
    if request.param == "etcd":
        server: EtcdServer = request.getfixturevalue("etcd")
        env = {"THREADLOCK_ETCD_ENDPOINTS": server.endpoint,
               "THREADLOCK_KEY_PREFIX": f"/tl-served/{uuid.uuid4().hex[:8]}/"}
    proc, address = serve_process(env, tmp_path_factory.mktemp("served") / "serve.log")
    yield address
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def sdk(monkeypatch: pytest.MonkeyPatch) -> object:
    """The Python SDK's spans, recorded by a provider of the test's own (tracing tests).
    Imported here, not at the top: only the tracing tests need OpenTelemetry's SDK."""
    from tracing_kit import record_sdk

    return record_sdk(monkeypatch)
