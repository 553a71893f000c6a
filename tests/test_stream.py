"""LockService.Stream on the server (coordinator/threadlock/stream_face.py), driven by a raw
grpc.aio stream so that every frame is the test's own: multiplexing, cancel frames, per-call
deadlines, a broken stream, retry by request_id on a new stream, the per-stream limit, bad
frames, per-call metrics, and auth with the role checked per call. Both backends (real etcd).
The Python SDK's stream transport is tested by the SDK suites (tests/test_sdk*.py) and
tests/test_sdk_stream.py."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest
import pytest_asyncio
from authkit import new_api_key, write_auth
from harness import Coordinator, dur, etcd_config, eventually, memory_config

from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc

C = grpc.StatusCode


class RawStream:
    """One LockService.Stream: `send` frames, `answer(call_id)` waits for that call's answer
    (answers come in any order)."""

    def __init__(self, channel: grpc.aio.Channel, credential: str | None = None) -> None:
        self._out: asyncio.Queue[pb.StreamRequest | None] = asyncio.Queue()
        md = [("authorization", f"Bearer {credential}")] if credential else None
        self.call = lock_pb2_grpc.LockServiceStub(channel).Stream(self._frames(), metadata=md)
        self.answers: dict[int, pb.StreamResponse] = {}
        self._arrived = asyncio.Condition()
        self.ended: grpc.aio.AioRpcError | None = None
        self._reader = asyncio.create_task(self._read())

    async def _frames(self) -> AsyncIterator[pb.StreamRequest]:
        while (frame := await self._out.get()) is not None:
            yield frame

    async def _read(self) -> None:
        try:
            async for answer in self.call:
                async with self._arrived:
                    self.answers[answer.call_id] = answer
                    self._arrived.notify_all()
        except grpc.aio.AioRpcError as exc:
            self.ended = exc
        async with self._arrived:
            self._arrived.notify_all()

    def send(self, call_id: int, timeout: float | None = None, **call: Any) -> None:
        frame = pb.StreamRequest(call_id=call_id, **call)
        if timeout is not None:
            frame.timeout.CopyFrom(dur(timeout))
        self._out.put_nowait(frame)

    def cancel(self, call_id: int) -> None:
        self._out.put_nowait(pb.StreamRequest(call_id=call_id, cancel=pb.StreamCancel()))

    async def answer(self, call_id: int, timeout: float = 20) -> pb.StreamResponse:
        async with asyncio.timeout(timeout):
            async with self._arrived:
                await self._arrived.wait_for(
                    lambda: call_id in self.answers or self._reader.done())
        assert call_id in self.answers, f"no answer to call {call_id}; stream: {self.ended}"
        return self.answers[call_id]

    async def ok(self, call_id: int, field: str) -> Any:
        answer = await self.answer(call_id)
        assert answer.WhichOneof("result") == field, answer
        return getattr(answer, field)

    async def error(self, call_id: int) -> tuple[C, str]:
        answer = await self.answer(call_id)
        assert answer.WhichOneof("result") == "error", answer
        code = next(c for c in C if c.value[0] == answer.error.code)
        return code, answer.error.message

    async def close(self) -> None:
        self._out.put_nowait(None)
        await asyncio.wait({self._reader}, timeout=20)


def acquire(key: str, owner: str = "w", ttl: float = 10, wait: float = 0,
            **kw: Any) -> pb.AcquireRequest:
    return pb.AcquireRequest(key=key, owner=owner, ttl=dur(ttl), wait=dur(wait), **kw)


def key() -> str:
    return f"conv_{uuid.uuid4().hex[:8]}"


async def _is(value: bool) -> bool:
    return value


async def test_calls_multiplex_on_one_stream(coord: Coordinator) -> None:
    """Many calls in flight on one stream, each answered once under its own call_id."""
    assert coord.channel is not None
    s = RawStream(coord.channel)
    keys = [key() for _ in range(20)]
    for i, k in enumerate(keys, start=1):
        s.send(i, timeout=10, acquire=acquire(k, owner=f"w{i}"))
    leases = [await s.ok(i, "acquire") for i in range(1, 21)]
    assert [lr.lease.key for lr in leases] == keys
    assert [lr.lease.owner for lr in leases] == [f"w{i}" for i in range(1, 21)]
    for i, lr in enumerate(leases, start=101):
        s.send(i, timeout=10, release=pb.ReleaseRequest(lease_token=lr.lease.lease_token))
    assert all([(await s.ok(i, "release")).released for i in range(101, 121)])
    s.send(200, timeout=10, status=pb.StatusRequest(prefix=keys[0][:5]))
    held = {lock.key for lock in (await s.ok(200, "status")).locks}
    assert not held & set(keys)
    await s.close()
    assert s.ended is None  # a client that finishes sending ends the stream cleanly


async def test_outcomes_are_the_unary_ones(coord: Coordinator) -> None:
    """Busy is an answer; a bad field, a token that holds nothing are errors naming them."""
    assert coord.channel is not None
    k = key()
    held = await coord.lease(k, "holder")
    s = RawStream(coord.channel)
    s.send(1, timeout=10, acquire=acquire(k))
    busy = (await s.ok(1, "acquire")).busy
    assert busy.holder.owner == "holder" and busy.key == k
    s.send(2, timeout=10, acquire=acquire(k, ttl=0.5))
    code, message = await s.error(2)
    assert code == C.INVALID_ARGUMENT and message.startswith("ttl:")
    s.send(3, timeout=10, keep_alive=pb.KeepAliveRequest(lease_token=held.lease_token))
    assert (await s.ok(3, "keep_alive")).ttl.seconds == 10
    assert await coord.release(held.lease_token)
    s.send(4, timeout=10, keep_alive=pb.KeepAliveRequest(lease_token=held.lease_token))
    assert (await s.error(4))[0] == C.NOT_FOUND
    s.send(5, timeout=10, open_session=pb.OpenSessionRequest(owner="p", ttl=dur(10)))
    session = (await s.ok(5, "open_session")).session_id
    s.send(6, timeout=10, close_session=pb.CloseSessionRequest(session_id=session))
    assert (await s.ok(6, "close_session")).closed
    s.send(7, timeout=10, force_release=pb.ForceReleaseRequest(key=k, tenant="t", reason="r"))
    assert (await s.error(7))[0] == C.PERMISSION_DENIED  # auth off: as the unary call
    await s.close()


async def test_cancel_frame_takes_a_queued_acquire_out_of_the_queue(
        coord: Coordinator) -> None:
    assert coord.channel is not None
    k = key()
    held = await coord.lease(k, "holder")
    s = RawStream(coord.channel)
    s.send(1, acquire=acquire(k, owner="queued", wait=60))
    assert await eventually(lambda: _is_waiting(coord, k, ["queued"]), timeout=15)
    s.cancel(1)
    code, _ = await s.error(1)
    assert code == C.CANCELLED
    assert await coord.waiters(k) == []  # left the queue by the time it answered
    s.cancel(999)  # a call_id not in flight: ignored, the stream goes on
    s.send(2, timeout=10, status=pb.StatusRequest(key=k))
    assert (await s.ok(2, "status")).locks[0].holder.owner == "holder"
    assert await coord.release(held.lease_token)
    await s.close()


async def _is_waiting(coord: Coordinator, k: str, owners: list[str]) -> bool:
    return await coord.waiters(k) == owners


async def test_per_call_deadline_bounds_a_queued_acquire(coord: Coordinator) -> None:
    """A call's own timeout, shorter than its wait: `busy` just before it, out of the queue;
    the stream itself has no deadline and goes on."""
    assert coord.channel is not None
    k = key()
    held = await coord.lease(k, "holder")
    s = RawStream(coord.channel)
    loop = asyncio.get_running_loop()
    sent = loop.time()
    s.send(1, timeout=1.5, acquire=acquire(k, owner="short", wait=60))
    busy = (await s.ok(1, "acquire")).busy
    took = loop.time() - sent
    assert 0.5 <= took < 10, took  # it queued, then answered before its deadline
    assert busy.waited.seconds >= 1 or busy.waited.nanos > 0
    assert await coord.waiters(k) == []
    s.send(2, timeout=0, status=pb.StatusRequest(key=k))  # already past: deadline exceeded
    assert (await s.error(2))[0] == C.DEADLINE_EXCEEDED
    s.send(3, timeout=10, status=pb.StatusRequest(key=k))
    assert (await s.ok(3, "status")).locks[0].holder.owner == "holder"
    assert await coord.release(held.lease_token)
    await s.close()


async def test_broken_stream_cancels_its_calls_and_a_retry_finds_its_grant(
        coord: Coordinator) -> None:
    """The stream breaks: its queued Acquire leaves the queue, its granted lease stays, and
    the same request_id on a new stream gets that very lease back."""
    assert coord.channel is not None
    k_held, k_busy = key(), key()
    blocker = await coord.lease(k_busy, "holder")
    s = RawStream(coord.channel)
    s.send(1, acquire=acquire(k_held, owner="granted", request_id="rid-1", ttl=30))
    s.send(2, acquire=acquire(k_busy, owner="queued", wait=60, request_id="rid-2"))
    first = (await s.ok(1, "acquire")).lease
    assert await eventually(lambda: _is_waiting(coord, k_busy, ["queued"]), timeout=15)
    s.call.cancel()  # the stream breaks with call 2 in flight
    assert await eventually(lambda: _is_waiting(coord, k_busy, []), timeout=15)
    t = RawStream(coord.channel)
    t.send(1, timeout=10, acquire=acquire(k_held, owner="granted", request_id="rid-1", ttl=30))
    again = (await t.ok(1, "acquire")).lease
    assert (again.lease_token, again.fencing_token) == (first.lease_token, first.fencing_token)
    t.send(2, timeout=10, release=pb.ReleaseRequest(lease_token=again.lease_token))
    assert (await t.ok(2, "release")).released
    assert await coord.release(blocker.lease_token)
    await t.close()


async def test_bad_frames_are_refused_and_the_stream_goes_on(coord: Coordinator) -> None:
    assert coord.channel is not None
    k = key()
    held = await coord.lease(k, "holder")
    s = RawStream(coord.channel)
    s.send(0, status=pb.StatusRequest(key=k))
    code, message = await s.error(0)
    assert code == C.INVALID_ARGUMENT and message.startswith("call_id:")
    s.send(5)
    code, message = await s.error(5)
    assert code == C.INVALID_ARGUMENT and message.startswith("call:")
    s.send(6, acquire=acquire(k, owner="q", wait=60))
    assert await eventually(lambda: _is_waiting(coord, k, ["q"]), timeout=15)
    s.answers.pop(6, None)
    s.send(6, timeout=10, status=pb.StatusRequest(key=k))  # 6 is still in flight
    code, message = await s.error(6)
    assert code == C.INVALID_ARGUMENT and message.startswith("call_id: 6 is already")
    s.answers.pop(6)
    s.cancel(6)
    assert (await s.error(6))[0] == C.CANCELLED
    s.send(7, timeout=-1, status=pb.StatusRequest(key=k))
    code, message = await s.error(7)
    assert code == C.INVALID_ARGUMENT and message.startswith("timeout:")
    assert await coord.release(held.lease_token)
    await s.close()


@pytest_asyncio.fixture(params=["memory", "etcd"])
async def limited(request: pytest.FixtureRequest, key_prefix: str) -> AsyncIterator[Coordinator]:
    """A coordinator with max_stream_calls = 2 and metrics on."""
    config = memory_config()
    if request.param == "etcd":
        config = etcd_config(request.getfixturevalue("etcd").endpoint, key_prefix)
    c = await Coordinator(dataclasses.replace(config, max_stream_calls=2,
                                              metrics_listen="127.0.0.1:0")).start()
    yield c
    await c.stop()


async def test_per_stream_limit_and_per_call_metrics(limited: Coordinator) -> None:
    c = limited
    assert c.channel is not None and c.server.metrics is not None
    registry = c.server.metrics.registry

    def count(method: str, code: str) -> float:
        return registry.get_sample_value("threadlock_rpc_duration_seconds_count",
                                         {"method": method, "code": code}) or 0.0

    k = key()
    held = await c.lease(k, "holder")
    s = RawStream(c.channel)
    s.send(1, acquire=acquire(k, owner="q1", wait=60))
    # Calls in flight together have no queue order between them: q2 goes once q1 queued.
    assert await eventually(lambda: _is_waiting(c, k, ["q1"]), timeout=15)
    s.send(2, acquire=acquire(k, owner="q2", wait=60))
    assert await eventually(lambda: _is_waiting(c, k, ["q1", "q2"]), timeout=15)
    s.send(3, timeout=10, status=pb.StatusRequest(key=k))
    code, message = await s.error(3)
    assert code == C.RESOURCE_EXHAUSTED and message.startswith("max_stream_calls:")
    assert count("Status", "RESOURCE_EXHAUSTED") == 1
    s.cancel(2)
    assert (await s.error(2))[0] == C.CANCELLED
    statuses = count("Status", "OK")  # the unary Status calls of `eventually` count too
    s.send(4, timeout=10, status=pb.StatusRequest(key=k))
    assert [w.owner for w in (await s.ok(4, "status")).locks[0].waiters] == ["q1"]
    assert count("Status", "OK") == statuses + 1
    assert await c.release(held.lease_token)
    granted = (await s.ok(1, "acquire")).lease
    assert granted.owner == "q1"
    s.send(5, timeout=10, release=pb.ReleaseRequest(lease_token=granted.lease_token))
    assert (await s.ok(5, "release")).released
    await s.close()
    # Per call, as unary calls are counted (the unary Acquire + Release above add 1 each).
    assert count("Acquire", "OK") == 2 and count("Acquire", "CANCELLED") == 1
    assert count("Release", "OK") == 2


# --- auth -------------------------------------------------------------------------------------


@dataclasses.dataclass
class Authed:
    c: Coordinator
    path: Path
    doc: dict[str, Any]
    keys: dict[str, str]


@pytest_asyncio.fixture(params=["memory", "etcd"])
async def authed(request: pytest.FixtureRequest, tmp_path: Path,
                 key_prefix: str) -> AsyncIterator[Authed]:
    import hashlib

    keys = {n: new_api_key()[0] for n in ("a", "b", "viewer")}
    roles = {"a": ("team-a", "locker"), "b": ("team-b", "locker"),
             "viewer": ("team-a", "viewer")}
    doc = {"api_keys": [{"sha256": hashlib.sha256(keys[n].encode()).hexdigest(),
                         "tenant": t, "role": r} for n, (t, r) in roles.items()],
           "session_secret": "s" * 40}
    path = write_auth(tmp_path / "auth.yaml", doc)
    config = memory_config()
    if request.param == "etcd":
        config = etcd_config(request.getfixturevalue("etcd").endpoint, key_prefix)
    c = await Coordinator(dataclasses.replace(config, auth_file=str(path))).start()
    yield Authed(c, path, doc, keys)
    await c.stop()


async def test_stream_without_credential_ends_unauthenticated(authed: Authed) -> None:
    assert authed.c.channel is not None
    for credential in (None, "tlk_not-a-key"):
        s = RawStream(authed.c.channel, credential)
        s.send(1, timeout=10, status=pb.StatusRequest(prefix=""))
        await asyncio.wait({s._reader}, timeout=20)
        assert s.ended is not None and s.ended.code() == C.UNAUTHENTICATED
        assert 1 not in s.answers


async def test_role_is_checked_per_call(authed: Authed) -> None:
    """A viewer's stream: Status answers, Acquire is PERMISSION_DENIED, the stream stays."""
    assert authed.c.channel is not None
    k = key()
    a = RawStream(authed.c.channel, authed.keys["a"])
    a.send(1, timeout=10, acquire=acquire(k, owner="a"))
    lease = (await a.ok(1, "acquire")).lease
    assert lease.key == k  # as the tenant names it
    v = RawStream(authed.c.channel, authed.keys["viewer"])
    v.send(1, timeout=10, acquire=acquire(key(), owner="v"))
    code, message = await v.error(1)
    assert code == C.PERMISSION_DENIED and "viewer" in message
    v.send(2, timeout=10, status=pb.StatusRequest(prefix=""))
    assert [lock.key for lock in (await v.ok(2, "status")).locks] == [k]  # team-a's only
    b = RawStream(authed.c.channel, authed.keys["b"])
    b.send(1, timeout=10, release=pb.ReleaseRequest(lease_token=lease.lease_token))
    assert (await b.error(1))[0] == C.PERMISSION_DENIED  # another tenant's token
    b.send(2, timeout=10, status=pb.StatusRequest(prefix=""))
    assert list((await b.ok(2, "status")).locks) == []
    a.send(2, timeout=10, release=pb.ReleaseRequest(lease_token=lease.lease_token))
    assert (await a.ok(2, "release")).released
    for s in (a, v, b):
        await s.close()


async def test_revoked_key_stops_working_on_an_open_stream(authed: Authed) -> None:
    """The credential is checked per call: a key removed from the auth file (reloaded without
    a restart) is refused on a stream opened before."""
    assert authed.c.channel is not None
    a = RawStream(authed.c.channel, authed.keys["a"])
    a.send(1, timeout=10, status=pb.StatusRequest(prefix=""))
    await a.ok(1, "status")
    doc = dict(authed.doc)
    doc["api_keys"] = [e for e in doc["api_keys"] if e["tenant"] != "team-a"
                       or e["role"] != "locker"]
    write_auth(authed.path, doc)
    ids = iter(range(2, 10_000))

    async def refused() -> bool:
        i = next(ids)
        a.send(i, timeout=10, status=pb.StatusRequest(prefix=""))
        answer = await a.answer(i)
        return answer.WhichOneof("result") == "error" and answer.error.code == \
            C.UNAUTHENTICATED.value[0]

    assert await eventually(refused, timeout=30)
    await a.close()


async def test_a_frame_that_is_not_a_stream_request_ends_the_stream(coord: Coordinator) -> None:
    assert coord.channel is not None
    call = coord.channel.stream_stream("/threadlock.v1.LockService/Stream",
                                       request_serializer=lambda b: b,
                                       response_deserializer=lambda b: b)()
    await call.write(b"\xff\xff\xff\x01not protobuf")
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        async for _ in call:
            pass
    assert ended.value.code() == C.INVALID_ARGUMENT
    assert (ended.value.details() or "").startswith("request: not a valid protobuf message")
    assert (await coord.lease(key(), "after")).fencing_token > 0  # the server goes on


async def test_a_stopping_server_answers_new_calls_unavailable_and_finishes_old_ones() -> None:
    """Graceful shutdown: a call in flight finishes within the grace period, a new call on
    the open stream answers UNAVAILABLE at once (the SDK then takes another stream/replica)."""
    c = await Coordinator(memory_config()).start()
    try:
        assert c.channel is not None
        k = key()
        held = await c.lease(k, "holder")
        s = RawStream(c.channel)
        s.send(1, timeout=30, acquire=acquire(k, owner="queued", wait=20))
        assert await eventually(lambda: _is_waiting(c, k, ["queued"]), timeout=15)
        stopping = asyncio.create_task(c.server.stop(10))
        assert await eventually(lambda: _is(c.server._stopping), timeout=10)
        s.send(2, timeout=10, status=pb.StatusRequest(key=k))
        code, message = await s.error(2)
        assert code == C.UNAVAILABLE and "shutting down" in message
        assert 1 not in s.answers  # the queued call is still in flight, not cut off
        assert c.server.manager is not None  # new calls are refused now: release in-process
        assert await c.server.manager.release(held.lease_token, 5.0)
        assert (await s.ok(1, "acquire")).lease.owner == "queued"
        await stopping
    finally:
        await c.stop()
