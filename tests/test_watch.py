"""Watch on one replica, both backends: every event kind produced for real, a snapshot then
changes, resume from a cursor, bad input, and the per-replica limits."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import aiohttp
import grpc
import pytest
from harness import Coordinator, dur, memory_config, rpc_error
from http_harness import base_url, post, with_http
from watch_helpers import K, Watcher, rebuild, without_tokens

from threadlock.v1 import lock_pb2 as pb


def _key() -> str:
    return f"conv_{uuid.uuid4().hex[:8]}"


async def test_every_event_kind(coord: Coordinator) -> None:
    key = _key()
    w = Watcher(coord.stub, pb.WatchRequest(prefix=key)).start()
    await w.snapshot_done()
    # granted, queued, metadata-changed (KeepAlive annotation), released -> granted to next
    a = await coord.lease(key, "a", ttl=10)
    await w.wait_kind(K.KIND_GRANTED, key)
    waiter = asyncio.create_task(coord.acquire(key, "b", ttl=2, wait=20))
    await w.wait_kind(K.KIND_QUEUED, key)
    await coord.stub.KeepAlive(pb.KeepAliveRequest(lease_token=a.lease_token,
                                                   metadata={"run": "run_1"}), timeout=10)
    await w.wait_kind(K.KIND_METADATA_CHANGED, key)
    assert await coord.release(a.lease_token)
    await w.wait_kind(K.KIND_RELEASED, key)
    b = (await waiter).lease
    await w.wait_kind(K.KIND_GRANTED, key, 2)
    # left-queue: a waiter that times out
    assert (await coord.acquire(key, "c", ttl=5, wait=0.5)).WhichOneof("result") == "busy"
    await w.wait_kind(K.KIND_LEFT_QUEUE, key)
    # expired: b (ttl 2 s) is never renewed
    await w.wait_kind(K.KIND_EXPIRED, key)
    await w.stop()
    assert w.kinds(key) == [K.KIND_GRANTED, K.KIND_QUEUED, K.KIND_METADATA_CHANGED,
                            K.KIND_RELEASED, K.KIND_GRANTED, K.KIND_QUEUED,
                            K.KIND_LEFT_QUEUE, K.KIND_EXPIRED]
    ch = w.changes()
    assert [e.owner for e in ch] == ["a", "b", "a", "a", "b", "c", "c", "b"]
    assert ch[2].metadata == {"run": "run_1"}
    assert ch[0].fencing_token == a.fencing_token and ch[4].fencing_token == b.fencing_token
    assert ch[4].ttl_seconds == 2 and ch[4].acquired_at.seconds > 0
    revisions = [e.revision for e in ch]
    assert revisions == sorted(revisions) and len(set(e.cursor for e in ch)) == len(ch)


async def test_left_queue_by_cancel(coord: Coordinator) -> None:
    key = _key()
    await coord.lease(key, "a", ttl=10)
    w = Watcher(coord.stub, pb.WatchRequest(key=key)).start()
    await w.snapshot_done()
    call = coord.stub.Acquire(pb.AcquireRequest(key=key, owner="b", ttl=dur(5), wait=dur(30)))
    await w.wait_kind(K.KIND_QUEUED, key)
    call.cancel()
    await w.wait_kind(K.KIND_LEFT_QUEUE, key)
    await w.stop()


async def test_snapshot_then_changes_and_resume(coord: Coordinator) -> None:
    prefix = _key() + "/"
    a = await coord.lease(prefix + "x", "a", ttl=10)
    waiter = asyncio.create_task(coord.acquire(prefix + "x", "b", ttl=10, wait=30))
    await coord.lease(prefix + "y", "c", ttl=10)
    await coord.lease(_key(), "other", ttl=10)  # outside the prefix: never seen
    w = Watcher(coord.stub, pb.WatchRequest(prefix=prefix)).start()
    await w.wait_for(lambda w: any(e.kind == K.KIND_SNAPSHOT_END for e in w.events)
                     and len(w.events) >= 4)
    snap = w.events[:4]
    assert [(e.key, e.owner, e.kind, e.snapshot) for e in snap] == [
        (prefix + "x", "a", K.KIND_GRANTED, True), (prefix + "x", "b", K.KIND_QUEUED, True),
        (prefix + "y", "c", K.KIND_GRANTED, True), ("", "", K.KIND_SNAPSHOT_END, False)]
    assert without_tokens(rebuild(w.events)) == {prefix + "x": ["a", "b"], prefix + "y": ["c"]}
    # Changes after the snapshot; then a watcher resumes from the first change's cursor.
    await coord.release(a.lease_token)
    await waiter
    await w.wait_kind(K.KIND_GRANTED, prefix + "x")
    first = w.changes()[0]
    assert first.kind == K.KIND_RELEASED
    r = Watcher(coord.stub, pb.WatchRequest(prefix=prefix, cursor=first.cursor)).start()
    await r.wait_kind(K.KIND_GRANTED, prefix + "x")
    await asyncio.sleep(0.3)  # nothing else may follow
    await w.stop()
    await r.stop()
    assert [(e.kind, e.owner) for e in r.events] == [(K.KIND_GRANTED, "b")]
    # Resuming from the snapshot's own cursor gives exactly the changes.
    s = Watcher(coord.stub, pb.WatchRequest(prefix=prefix, cursor=snap[-1].cursor)).start()
    await s.wait_kind(K.KIND_GRANTED, prefix + "x")
    await s.stop()
    assert [(e.kind, e.owner) for e in s.events] == [(K.KIND_RELEASED, "a"),
                                                     (K.KIND_GRANTED, "b")]


@pytest.mark.parametrize("cursor", ["nope", "e1.x.0", "e1.-1.0", "x" * 200])
async def test_bad_cursor_names_the_field(coord: Coordinator, cursor: str) -> None:
    err = await rpc_error(_first(coord, pb.WatchRequest(prefix="a", cursor=cursor)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.details() or "").startswith("cursor:")


async def test_empty_key_names_the_field(coord: Coordinator) -> None:
    err = await rpc_error(_first(coord, pb.WatchRequest(key="")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.details() or "").startswith("key:")


async def test_cursor_of_another_history_is_too_old(coord: Coordinator) -> None:
    key = _key()
    await coord.lease(key, "a", ttl=10)
    w = Watcher(coord.stub, pb.WatchRequest(key=key, cursor="e99.5.0")).start()
    await w.snapshot_done()
    await w.stop()
    assert [(e.kind, e.owner) for e in w.events] == [
        (K.KIND_CURSOR_TOO_OLD, ""), (K.KIND_GRANTED, "a"), (K.KIND_SNAPSHOT_END, "")]


async def test_max_watchers_per_replica(coordinators: list[Coordinator]) -> None:
    c = await Coordinator(dataclasses.replace(memory_config(), max_watchers=1)).start()
    coordinators.append(c)
    w = Watcher(c.stub, pb.WatchRequest(prefix="")).start()
    await w.snapshot_done()
    err = await rpc_error(_first(c, pb.WatchRequest(prefix="")))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert (err.details() or "").startswith("max_watchers:")
    await w.stop()


async def test_slow_watcher_is_cut_off(coordinators: list[Coordinator]) -> None:
    c = await Coordinator(dataclasses.replace(memory_config(), watch_buffer=5)).start()
    coordinators.append(c)
    hub = c.server.hub
    assert hub is not None
    gen = hub.subscribe("")
    assert (await anext(gen)).kind.name == "SNAPSHOT_END"
    for i in range(10):  # nobody reads `gen` meanwhile: its buffer of 5 overflows
        await c.lease(f"slow_{i}", "a", ttl=10)
    err: Exception | None = None
    try:
        for _ in range(20):
            await anext(gen)
    except Exception as exc:
        err = exc
    assert err is not None and str(err).startswith("watch_buffer:")
    assert hub.watchers == 0


async def test_watchers_end_unavailable_when_the_replica_stops(
        coordinators: list[Coordinator]) -> None:
    c = await Coordinator(memory_config()).start()
    w = Watcher(c.stub, pb.WatchRequest(prefix="")).start()
    await w.snapshot_done()
    await c.server.stop(5)
    assert w.task is not None
    await asyncio.wait_for(w.task, 15)
    assert w.error is not None and w.error.code() == grpc.StatusCode.UNAVAILABLE
    assert c.channel is not None
    await c.channel.close()


async def _first(coord: Coordinator, request: pb.WatchRequest) -> pb.WatchEvent:
    async for resp in coord.stub.Watch(request, timeout=10):
        event: pb.WatchEvent = resp.events[0]
        return event
    raise AssertionError("the stream ended without an event")


async def test_the_http_face_does_not_serve_watch(coordinators: list[Coordinator]) -> None:
    c = await Coordinator(with_http(memory_config())).start()
    coordinators.append(c)
    async with aiohttp.ClientSession() as session:
        answer = await post(session, base_url(c), "Watch", {"prefix": ""})
    assert answer.status == 404 and "no such procedure" in answer.message
