"""The Prometheus endpoint (--metrics-listen): after real calls, /metrics serves every metric
that docs/metrics.md documents, with the right values and labels, on both backends; the
store-wide gauges follow held locks and waiters; etcd failures are counted."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import re
import socket
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
from etcd_server import EtcdServer
from harness import Coordinator, etcd_config, eventually, memory_config, rpc_error
from prometheus_client.parser import text_string_to_metric_families

from threadlock.config import Config
from threadlock.etcd import store as etcd_store
from threadlock.metrics import OUTCOMES, Metrics, version
from threadlock.server import Server, StartupError
from threadlock.v1 import lock_pb2 as pb

pytestmark = pytest.mark.asyncio

DOC = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _metered(config: Config) -> Config:
    # A short recount interval, so that the store-wide gauges follow the test promptly.
    return dataclasses.replace(config, metrics_listen="127.0.0.1:0", metrics_interval=0.05)


@pytest_asyncio.fixture(params=["memory", "etcd"])
async def metered(request: pytest.FixtureRequest, key_prefix: str) -> AsyncIterator[Coordinator]:
    """One replica with metrics on, once per backend."""
    if request.param == "memory":
        config = memory_config()
    else:
        server: EtcdServer = request.getfixturevalue("etcd")
        config = etcd_config(server.endpoint, key_prefix)
    c = await Coordinator(_metered(config)).start()
    yield c
    await c.stop()


async def scrape_text(c: Coordinator) -> str:
    url = f"http://127.0.0.1:{c.server.metrics_port}/metrics"

    def get() -> str:
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain")
            return str(resp.read().decode())
    return await asyncio.to_thread(get)


async def scrape(c: Coordinator) -> Samples:
    """Every sample served at /metrics, by (name, labels)."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(await scrape_text(c))
            for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def _gauge_is(c: Coordinator, name: str, expected: float) -> bool:
    return value(await scrape(c), name) == expected


async def test_metrics_after_acquisitions(metered: Coordinator) -> None:
    c = metered
    first = await c.lease("conv_m", "alice", ttl=30)
    busy = await c.acquire("conv_m", "bob")
    assert busy.WhichOneof("result") == "busy"
    queued = asyncio.create_task(c.acquire("conv_m", "carol", ttl=30, wait=60))
    await eventually(lambda: _gauge_is(c, "threadlock_acquire_waiting", 1))
    assert await c.release(first.lease_token)
    second = (await queued).lease
    assert second.owner == "carol"
    assert await c.release(second.lease_token)
    refused = await rpc_error(c.stub.KeepAlive(
        pb.KeepAliveRequest(lease_token=second.lease_token), timeout=10))
    assert refused.code() == grpc.StatusCode.NOT_FOUND
    invalid = await rpc_error(c.acquire("conv_m", ""))
    assert invalid.code() == grpc.StatusCode.INVALID_ARGUMENT

    s = await scrape(c)
    expected = {"granted": 2, "busy": 1, "invalid": 1}
    for outcome in OUTCOMES:  # all exported, the others at 0
        assert ("threadlock_acquire_total", frozenset({("outcome", outcome)})) in s
        assert value(s, "threadlock_acquire_total", outcome=outcome) == expected.get(outcome, 0)
    assert value(s, "threadlock_acquire_wait_seconds_count") == 2
    # carol waited for alice's release; alice's grant was immediate.
    assert value(s, "threadlock_acquire_wait_seconds_sum") > 0
    assert value(s, "threadlock_acquire_wait_seconds_bucket", le="+Inf") == 2
    assert value(s, "threadlock_lock_hold_seconds_count") == 2
    assert value(s, "threadlock_lock_hold_seconds_sum") > 0
    assert value(s, "threadlock_acquire_waiting") == 0
    assert value(s, "threadlock_lease_expirations_total") == 1
    rpcs = {(m, code): value(s, "threadlock_rpc_duration_seconds_count", method=m, code=code)
            for m, code in [("Acquire", "OK"), ("Acquire", "INVALID_ARGUMENT"),
                            ("Release", "OK"), ("KeepAlive", "NOT_FOUND")]}
    assert rpcs == {("Acquire", "OK"): 3, ("Acquire", "INVALID_ARGUMENT"): 1,
                    ("Release", "OK"): 2, ("KeepAlive", "NOT_FOUND"): 1}
    assert value(s, "threadlock_build_info", version=version()) == 1
    # A healthy store: no etcd request failed.
    assert not [k for k in s if k[0] == "threadlock_etcd_errors_total"]


async def test_store_gauges_count_holders_and_waiters(metered: Coordinator) -> None:
    c = metered
    await eventually(lambda: _gauge_is(c, "threadlock_locks_held", 0))
    held = await c.lease("conv_g", "alice", ttl=30)
    other = await c.lease("conv_h", "bob", ttl=30)
    waiter = asyncio.create_task(c.acquire("conv_g", "carol", ttl=30, wait=60))
    await eventually(lambda: c.waiters("conv_g"))

    async def counted(held_n: int, waiting_n: int) -> bool:
        s = await scrape(c)
        return (value(s, "threadlock_locks_held"), value(s, "threadlock_lock_waiters")) == (
            held_n, waiting_n)
    await eventually(lambda: counted(2, 1))
    assert await c.release(held.lease_token)
    granted = (await waiter).lease
    await eventually(lambda: counted(2, 0))
    assert await c.release(granted.lease_token) and await c.release(other.lease_token)
    await eventually(lambda: counted(0, 0))


async def test_store_count_timestamp_tells_never_from_zero(metered: Coordinator) -> None:
    """0 locks and "never counted" differ: the timestamp is 0 until the first count."""
    fresh = Metrics()
    assert fresh.registry.get_sample_value("threadlock_store_count_timestamp_seconds") == 0
    before = time.time()
    metered.server.counted.clear()
    await asyncio.wait_for(metered.server.counted.wait(), timeout=30)
    stamp = value(await scrape(metered), "threadlock_store_count_timestamp_seconds")
    assert before <= stamp <= time.time()


async def test_store_count_pages_through_etcd(etcd: EtcdServer, key_prefix: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(etcd_store, "COUNT_PAGE", 2)  # pages end inside a key's queue
    c = await Coordinator(etcd_config(etcd.endpoint, key_prefix)).start()
    waiters: list[asyncio.Task[pb.AcquireResponse]] = []
    try:
        for i in range(3):
            await c.lease(f"conv_{i}", "holder", ttl=30)
        for n, key in enumerate(["conv_0", "conv_0", "conv_2"]):
            waiters.append(asyncio.create_task(c.acquire(key, f"w{n}", ttl=30, wait=60)))
            await eventually(functools.partial(_queued, c, key, n))
        assert c.server.store is not None
        assert await c.server.store.count(time.monotonic() + 10) == (3, 3)
    finally:
        for w in waiters:
            w.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        await c.stop()


async def _queued(c: Coordinator, key: str, n: int) -> bool:
    return f"w{n}" in await c.waiters(key)


async def test_etcd_errors_are_counted_while_etcd_is_down(fresh_etcd: EtcdServer,
                                                          key_prefix: str) -> None:
    c = await Coordinator(_metered(etcd_config(fresh_etcd.endpoint, key_prefix))).start()
    try:
        await c.lease("conv_e", "alice", ttl=30)
        fresh_etcd.stop()

        async def failed_ops() -> set[str]:
            return {dict(labels)["op"] for name, labels in await scrape(c)
                    if name == "threadlock_etcd_errors_total"}
        # The health check reads etcd every --health-interval (1 s), the gauges' count every
        # 0.05 s: their failures alone are counted, without any call.
        await eventually(lambda: _has(failed_ops(), {"health read", "count"}))
        # Failed counts leave the gauges and their timestamp as the last success set them.
        stamp = value(await scrape(c), "threadlock_store_count_timestamp_seconds")
        assert stamp > 0
        seen = await _count_errors(c)
        await eventually(lambda: _more_than(_count_errors(c), seen))
        assert value(await scrape(c), "threadlock_store_count_timestamp_seconds") == stamp
        err = await rpc_error(c.acquire("conv_e", "bob", timeout=10))
        assert err.code() == grpc.StatusCode.UNAVAILABLE
        s = await scrape(c)
        assert value(s, "threadlock_acquire_total", outcome="unavailable") == 1
        assert "lease grant" in await failed_ops()  # where that Acquire failed
        codes = {dict(labels)["code"] for name, labels in s
                 if name == "threadlock_etcd_errors_total"}
        assert codes <= {"UNAVAILABLE", "DEADLINE_EXCEEDED"}, codes
        assert value(s, "threadlock_rpc_duration_seconds_count", method="Acquire",
                     code="UNAVAILABLE") == 1
    finally:
        fresh_etcd.restart()
        await c.stop()


async def _has(found: Awaitable[set[str]], wanted: set[str]) -> bool:
    return wanted <= await found


async def _count_errors(c: Coordinator) -> float:
    return sum(v for (name, labels), v in (await scrape(c)).items()
               if name == "threadlock_etcd_errors_total" and dict(labels)["op"] == "count")


async def _more_than(found: Awaitable[float], seen: float) -> bool:
    return await found > seen


def _documented() -> set[str]:
    """Metric names in the first column of docs/metrics.md's tables."""
    return set(re.findall(r"^\| `(threadlock_[a-z_]+)` \|", DOC.read_text(), re.MULTILINE))


async def test_docs_list_exactly_the_served_metrics(metered: Coordinator) -> None:
    await metered.lease("conv_d", "alice")  # so that the labelled families have samples
    served = set()
    for family in text_string_to_metric_families(await scrape_text(metered)):
        if family.name.endswith("_created"):
            continue  # prometheus_client's creation timestamps, documented as such
        served.add(family.name + "_total" if family.type == "counter" else family.name)
    assert served == _documented()
    # Every family of a Metrics object is in the docs too, sampled or not.
    names = {m.name + ("_total" if m.type == "counter" else "")
             for m in Metrics().registry.collect()}
    assert names == _documented()


async def test_metrics_registry_is_per_server() -> None:
    a, b = Metrics(), Metrics()
    a.acquire_done("busy")
    assert a.registry is not b.registry
    assert a.registry.get_sample_value("threadlock_acquire_total", {"outcome": "busy"}) == 1
    assert b.registry.get_sample_value("threadlock_acquire_total", {"outcome": "busy"}) == 0


async def test_metrics_port_in_use_fails_start_naming_the_option() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = Server(dataclasses.replace(memory_config(),
                                            metrics_listen=f"127.0.0.1:{port}"))
        with pytest.raises(StartupError, match="--metrics-listen"):
            await server.start()
        assert server.port == 0  # nothing left serving
