"""Watch through the Python SDK: the sync iterator against a served coordinator (both
backends), and the async one resuming across replicas with its last cursor when its replica
dies (real etcd), without a gap or a duplicate."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Awaitable, Callable

import grpc
import pytest
from etcd_server import EtcdServer
from harness import Coordinator, etcd_config, eventually

from threadlock_client import LockClient, WatchEvent
from threadlock_client._proto import lock_pb2 as pb
from threadlock_client._protocol import Targets
from threadlock_client._watch import WatchPolicy
from threadlock_client.aio import AsyncLockClient
from threadlock_client.errors import (
    InvalidArgument,
    PermissionDenied,
    QuotaExceeded,
    Unavailable,
)


def test_sync_watch_snapshot_changes_and_resume(served: str) -> None:
    prefix = f"conv_{uuid.uuid4().hex[:8]}_"
    seen: list[WatchEvent] = []
    with LockClient(served, owner="sdk") as client:
        held = client.acquire(prefix + "a", ttl=10)
        watch = client.watch(prefix=prefix)
        done = threading.Event()

        def read() -> None:
            for e in watch:
                seen.append(e)
                if e.kind == "released":
                    done.set()
                    return

        reader = threading.Thread(target=read)
        reader.start()
        _until(lambda: any(e.kind == "snapshot_end" for e in seen))
        held.annotate(run="run_1")
        held.release()
        assert done.wait(20)
        reader.join(10)
        watch.close()
        assert [(e.kind, e.key, e.snapshot) for e in seen] == [
            ("granted", prefix + "a", True), ("snapshot_end", "", False),
            ("metadata_changed", prefix + "a", False), ("released", prefix + "a", False)]
        assert seen[2].metadata == {"run": "run_1"}
        assert watch.cursor == seen[-1].cursor
        # Resume from the snapshot's cursor: exactly the two changes, then close.
        again = client.watch(prefix=prefix, cursor=seen[1].cursor)
        got = []
        for e in again:
            got.append(e.kind)
            if len(got) == 2:
                again.close()
        assert got == ["metadata_changed", "released"]


def test_key_and_prefix_together_are_refused(served: str) -> None:
    with LockClient(served) as client, pytest.raises(InvalidArgument, match="key, prefix"):
        client.watch(key="a", prefix="b")


async def test_async_watch_resumes_on_another_replica(
        etcd: EtcdServer, key_prefix: str, coordinators: list[Coordinator]) -> None:
    a = await Coordinator(etcd_config(etcd.endpoint, key_prefix)).start()
    b = await Coordinator(etcd_config(etcd.endpoint, key_prefix)).start()
    coordinators.extend([a, b])
    got: list[WatchEvent] = []
    async with AsyncLockClient([a.address, b.address], owner="w") as client:
        watch = client.watch(prefix="k")

        async def read() -> None:
            async for e in watch:
                got.append(e)

        reader = asyncio.create_task(read())
        await eventually(_async(lambda: any(e.kind == "snapshot_end" for e in got)))
        first = await b.lease("k1", "x", ttl=10)
        await eventually(_async(lambda: len(got) == 2))
        await a.server.stop(0)  # the replica the watch streams from
        await b.release(first.lease_token)  # while the watch has no stream
        await b.lease("k2", "y", ttl=10)
        await eventually(_async(lambda: len(got) == 4))
        await asyncio.sleep(0.3)  # nothing more may arrive
        await watch.aclose()
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
    assert [(e.kind, e.key) for e in got] == [
        ("snapshot_end", ""), ("granted", "k1"), ("released", "k1"), ("granted", "k2")]
    assert len({e.cursor for e in got}) == 4 and watch.cursor == got[-1].cursor


def _until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.02)


def _async(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def run() -> bool:
        return check()
    return run


def test_policy_resumes_on_unavailable_and_watch_buffer_only() -> None:
    """The SDK's I/O-free watch policy: the next address at once, then backoff; the cursor
    of the last event is what a reconnect sends; other failures end the watch as errors."""
    targets = Targets(2)
    policy = WatchPolicy(targets, prefix="conv_")
    policy.received(pb.WatchEvent(kind=pb.WatchEvent.KIND_GRANTED, cursor="e1.5.0"))
    assert policy.request().cursor == "e1.5.0" and policy.request().prefix == "conv_"
    assert policy.failed(grpc.StatusCode.UNAVAILABLE, "gone") == 0.0 and targets.current == 1
    assert policy.failed(grpc.StatusCode.RESOURCE_EXHAUSTED, "watch_buffer: slow") > 0
    assert targets.current == 0
    with pytest.raises(PermissionDenied):
        policy.failed(grpc.StatusCode.PERMISSION_DENIED, "role viewer may not")
    with pytest.raises(QuotaExceeded):
        policy.failed(grpc.StatusCode.RESOURCE_EXHAUSTED, "max_watchers: full")
    quick = WatchPolicy(Targets(1), key="k", retry_for=0.0)
    quick.failed(grpc.StatusCode.UNAVAILABLE, "down")
    time.sleep(0.01)
    with pytest.raises(Unavailable, match="no coordinator served the stream"):
        quick.failed(grpc.StatusCode.UNAVAILABLE, "down")
