"""The RPCs of LockManager: translate wire <-> domain (LockRpcs), and the gRPC face of them
(LockServicer, which fails with `context.abort`).

Each RPC is one hop from its RPC to a LockManager method, whose store call is one etcd
transaction. Deadlines: a call's own gRPC deadline bounds all its work, less a small margin
so that the answer (or cleanup) still gets out in time.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable
from typing import NoReturn, Protocol, TypeVar

import grpc
import grpc.aio
from google.protobuf import duration_pb2, timestamp_pb2

from threadlock.errors import (
    InvalidArgument,
    LockError,
    PermissionDenied,
    ResourceExhausted,
    Unavailable,
    status_of,
)
from threadlock.locks import LockManager
from threadlock.metrics import acquire_outcome
from threadlock.model import AcquireSpec, Busy, Grant, HolderInfo
from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc
from threadlock.watch import EventHub
from threadlock.watch.rpc import selector, watch

T = TypeVar("T")
Ctx = grpc.aio.ServicerContext[object, object]
Left = float | None  # a call's time left until its deadline, in seconds; None: no deadline

class StreamServer(Protocol):
    """What serves LockService.Stream (stream_face.StreamFace; a protocol: no import cycle)."""

    async def serve(self, frames: AsyncIterator[pb.StreamRequest], context: Ctx) -> None: ...


MARGIN = 0.25  # kept back from the caller's deadline to answer in time (a quarter, at most)
DEFAULT_TIMEOUT = 30.0  # budget of a call that has no deadline (besides its wait)


def _ts(unix: float) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    if unix > 0:
        ts.FromNanoseconds(int(unix * 1e9))
    return ts


def _dur(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(max(seconds, 0.0) * 1e9))
    return d


def _seconds(d: duration_pb2.Duration) -> float:
    return float(d.seconds) + d.nanos / 1e9


def budget(left: Left, extra: float = 0.0) -> float:
    """Seconds a call may spend, given its time `left` (None: no deadline) and, for an
    Acquire, its `wait`: the deadline less a margin to answer in, else a default."""
    if left is None:
        return DEFAULT_TIMEOUT + extra
    return max(left - min(MARGIN, left / 4), 0.001)


async def _run(context: Ctx, step: Awaitable[T]) -> T:
    try:
        return await step
    except LockError as exc:
        await _abort(context, exc)


async def _abort(context: Ctx, exc: BaseException) -> NoReturn:
    code, message = status_of(exc)
    await context.abort(code, message)
    raise AssertionError("unreachable")  # context.abort always raises


def holder_pb(h: HolderInfo, now: float) -> pb.Holder:
    return pb.Holder(owner=h.owner, fencing_token=h.fencing_token,
                     acquired_at=_ts(h.acquired_at), expires_at=_ts(h.expires_at),
                     held_for=_dur(now - h.acquired_at),
                     expires_in=_dur(h.expires_at - now if h.expires_at else 0),
                     metadata=h.metadata)


def lease_pb(g: Grant) -> pb.Lease:
    return pb.Lease(key=g.key, owner=g.owner, lease_token=g.lease_token,
                    fencing_token=g.fencing_token, acquired_at=_ts(g.acquired_at),
                    expires_at=_ts(g.expires_at), ttl=_dur(g.ttl), metadata=g.metadata,
                    session_id=g.session_id, valid_for=_dur(g.valid_for))


def busy_pb(b: Busy) -> pb.Busy:
    now = time.time()
    return pb.Busy(key=b.key, holder=holder_pb(b.holder, now) if b.holder else None,
                   waiters=b.waiters, waited=_dur(b.waited), message=b.message(now))


class LockRpcs:
    """One transport-free function per RPC: a request message and the call's time left (None:
    no deadline) in, the response message out; failures raise LockError. The gRPC servicer
    below and the Connect/HTTP face (connect_face.py) both call these, so both have the same
    validation, deadlines, metrics and logs."""

    def __init__(self, manager: LockManager, max_waiters: int = 10_000,
                 hub: EventHub | None = None) -> None:
        self.manager = manager
        self.hub = hub  # None: Watch answers UNAVAILABLE (a server that was not given one)
        self.recorder = manager.recorder
        self.max_waiters = max_waiters  # queued Acquires this replica holds at once
        self.waiting = 0

    async def Acquire(self, request: pb.AcquireRequest, left: Left) -> pb.AcquireResponse:
        arrived = time.monotonic()
        spec = AcquireSpec(key=request.key, owner=request.owner, ttl=_seconds(request.ttl),
                           wait=_seconds(request.wait), request_id=request.request_id,
                           metadata=dict(request.metadata), session_id=request.session_id)
        queues = spec.wait > 0
        if queues and self.waiting >= self.max_waiters:
            self.recorder.acquire_done("invalid")  # refused as asked, like a bad field
            raise ResourceExhausted("max_waiters", f"this replica already holds "
                                    f"{self.waiting} queued Acquires (--max-waiters); retry "
                                    "later or on another replica")
        self.waiting += queues
        try:
            result = await self.manager.acquire(spec, budget(left, spec.wait))
        except BaseException as exc:
            self.recorder.acquire_done(acquire_outcome(exc))
            raise
        finally:
            self.waiting -= queues
        if isinstance(result, Grant):
            self.recorder.acquire_done("granted", time.monotonic() - arrived)
            return pb.AcquireResponse(lease=lease_pb(result))
        self.recorder.acquire_done("busy")
        return pb.AcquireResponse(busy=busy_pb(result))

    async def KeepAlive(self, request: pb.KeepAliveRequest, left: Left) -> pb.KeepAliveResponse:
        if request.WhichOneof("target") == "session_id":
            if request.metadata:
                raise InvalidArgument("metadata",
                                      "only with lease_token: a session has no key of its own")
            step = self.manager.keepalive_session(request.session_id, budget(left))
        else:
            step = self.manager.keepalive_lease(request.lease_token, budget(left),
                                                dict(request.metadata))
        expires_at, ttl = await step
        return pb.KeepAliveResponse(expires_at=_ts(expires_at), ttl=_dur(ttl))

    async def Release(self, request: pb.ReleaseRequest, left: Left) -> pb.ReleaseResponse:
        released = await self.manager.release(request.lease_token, budget(left))
        return pb.ReleaseResponse(released=released)

    async def OpenSession(self, request: pb.OpenSessionRequest,
                          left: Left) -> pb.OpenSessionResponse:
        s = await self.manager.open_session(request.owner, _seconds(request.ttl), budget(left))
        return pb.OpenSessionResponse(session_id=s.session_id, expires_at=_ts(s.expires_at),
                                      ttl=_dur(s.ttl))

    async def CloseSession(self, request: pb.CloseSessionRequest,
                           left: Left) -> pb.CloseSessionResponse:
        closed = await self.manager.close_session(request.session_id, budget(left))
        return pb.CloseSessionResponse(closed=closed)

    async def Status(self, request: pb.StatusRequest, left: Left) -> pb.StatusResponse:
        which = request.WhichOneof("selector")
        key = request.key if which == "key" else None
        prefix = request.prefix if which == "prefix" else ""
        states, token = await self.manager.status(key, prefix, request.page_size,
                                                  request.page_token, budget(left))
        now = time.time()
        return pb.StatusResponse(next_page_token=token, locks=[
            pb.LockState(key=s.key, holder=holder_pb(s.holder, now), waiters=[
                pb.Waiter(owner=w.owner, position=w.position, queued_at=_ts(w.queued_at),
                          metadata=w.metadata) for w in s.waiters])
            for s in states])

    def Watch(self, request: pb.WatchRequest) -> AsyncIterator[pb.WatchResponse]:
        prefix, exact = selector(request)
        return watch(self._hub(), prefix, exact, request.cursor)

    def _hub(self) -> EventHub:
        if self.hub is None:
            raise Unavailable("Watch is not served by this coordinator")
        return self.hub

    async def ForceRelease(self, request: pb.ForceReleaseRequest,
                           left: Left) -> pb.ForceReleaseResponse:
        # Only an admin of an auth-on coordinator (auth/rpcs.py) may force a release.
        raise PermissionDenied("ForceRelease needs auth on (--auth-file) and the admin role")


class LockServicer(lock_pb2_grpc.LockServiceServicer):
    """The gRPC face: each RPC is its LockRpcs function, with LockError -> context.abort;
    Stream is `stream` (stream_face.StreamFace), which runs the same functions per message."""

    def __init__(self, rpcs: LockRpcs, stream: StreamServer | None = None) -> None:
        self.rpcs = rpcs
        self.stream = stream

    async def Stream(self, request_iterator: AsyncIterator[pb.StreamRequest],
                     context: Ctx) -> None:
        if self.stream is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Stream is not served here")
        await self.stream.serve(request_iterator, context)

    async def Acquire(self, request: pb.AcquireRequest, context: Ctx) -> pb.AcquireResponse:
        return await _run(context, self.rpcs.Acquire(request, context.time_remaining()))

    async def KeepAlive(self, request: pb.KeepAliveRequest,
                        context: Ctx) -> pb.KeepAliveResponse:
        return await _run(context, self.rpcs.KeepAlive(request, context.time_remaining()))

    async def Release(self, request: pb.ReleaseRequest, context: Ctx) -> pb.ReleaseResponse:
        return await _run(context, self.rpcs.Release(request, context.time_remaining()))

    async def OpenSession(self, request: pb.OpenSessionRequest,
                          context: Ctx) -> pb.OpenSessionResponse:
        return await _run(context, self.rpcs.OpenSession(request, context.time_remaining()))

    async def CloseSession(self, request: pb.CloseSessionRequest,
                           context: Ctx) -> pb.CloseSessionResponse:
        return await _run(context, self.rpcs.CloseSession(request, context.time_remaining()))

    async def Status(self, request: pb.StatusRequest, context: Ctx) -> pb.StatusResponse:
        return await _run(context, self.rpcs.Status(request, context.time_remaining()))

    async def ForceRelease(self, request: pb.ForceReleaseRequest,
                           context: Ctx) -> pb.ForceReleaseResponse:
        return await _run(context, self.rpcs.ForceRelease(request, context.time_remaining()))

    async def Watch(self, request: pb.WatchRequest,
                    context: Ctx) -> AsyncIterator[pb.WatchResponse]:
        try:
            async for event in self.rpcs.Watch(request):
                yield event
        except LockError as exc:
            await _abort(context, exc)
