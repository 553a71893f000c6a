"""Lease renewal over one shared LeaseKeepAlive stream per replica.

etcd renews leases only through a bidirectional stream. Opening one per renewal would cost a
stream setup per KeepAlive; instead every renewal of this replica goes through one stream,
and each caller awaits its own future for the answer about its lease id.

A caller whose own deadline passes just drops its future: the stream is shared, so one
impatient caller must not break it for the others. The stream is replaced only when it
fails, or when it has stalled (requests written, no answer for `op_timeout`); then the
renewals pending on it fail with Unavailable and the next renewal opens a new one.

The keeper also remembers, for the leases this replica granted or renewed lately, a time
each lives at least until (`until`): the lease pool hands out a lease renewed a moment ago
without renewing it again (leases.py).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from typing import Any

import grpc
import grpc.aio

from threadlock.errors import Unavailable
from threadlock.etcd.client import LEADER_REQUIRED, EtcdClient
from threadlock.internal.etcd import rpc_pb2
from threadlock.timeouts import within

OP = "lease keepalive"  # the op label of its failures (threadlock_etcd_errors_total)
KNOWN_MAX = 65_536  # leases whose lower bound is remembered; the oldest are forgotten first


class _Stream:
    def __init__(self, call: Any) -> None:
        self.call = call
        self.pending: dict[int, list[asyncio.Future[int]]] = {}
        # One writer task: gRPC allows one write in flight per stream, and a write cancelled
        # half-way (a caller's timeout) would end the whole call.
        self.outbox: asyncio.Queue[int] = asyncio.Queue()
        self.written: collections.deque[float] = collections.deque()  # unanswered writes
        self.tasks: list[asyncio.Task[None]] = []
        self.closed = False

    def fail(self, error: Exception) -> None:
        self.closed = True
        for futs in self.pending.values():
            for fut in futs:
                if not fut.done():
                    fut.set_exception(error)
        self.pending.clear()


class LeaseKeeper:
    def __init__(self, client: EtcdClient) -> None:
        self._client = client
        self._stream: _Stream | None = None
        # lease -> a time.monotonic() it lives at least until: read before the grant or
        # renewal that set it was sent, plus the TTL etcd answered (etcd counts from later).
        self._known: collections.OrderedDict[int, float] = collections.OrderedDict()

    def note(self, lease: int, until: float) -> None:
        """`lease` lives at least until `until` (time.monotonic()), e.g. after its grant."""
        self._known[lease] = until
        self._known.move_to_end(lease)
        if len(self._known) > KNOWN_MAX:
            self._known.popitem(last=False)

    def forget(self, lease: int) -> None:
        self._known.pop(lease, None)

    def until(self, lease: int) -> float | None:
        """The time `lease` lives at least until, if this replica knows one."""
        return self._known.get(lease)

    async def renew(self, lease: int, deadline: float) -> int:
        """Renew `lease`; its TTL in seconds, or 0 if it no longer exists."""
        sent = time.monotonic()  # before the request leaves: the bound noted is early
        ttl = await self._renew(lease, deadline)
        if ttl > 0:
            self.note(lease, sent + ttl)
        else:
            self.forget(lease)
        return ttl

    async def _renew(self, lease: int, deadline: float) -> int:
        timeout = self._client.timeout(deadline, "lease renewal")
        stream = self._open()
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        stream.pending.setdefault(lease, []).append(fut)
        stream.outbox.put_nowait(lease)
        try:
            return await within(asyncio.shield(fut), timeout)
        except TimeoutError as exc:
            # etcd answers in order: the oldest unanswered write tells whether it stalled.
            if stream.written and time.monotonic() - stream.written[0] > self._client.op_timeout:
                self._client.on_error(OP, grpc.StatusCode.DEADLINE_EXCEEDED)
                self._close(stream, Unavailable("etcd stopped answering lease renewals"))
            raise Unavailable("etcd did not answer the lease renewal in time") from exc
        finally:
            if fut.done() and not fut.cancelled():
                fut.exception()  # retrieved: a failure after we left is nobody's news
            waiting = stream.pending.get(lease)
            if waiting is not None and fut in waiting:
                waiting.remove(fut)
                if not waiting:
                    del stream.pending[lease]

    def _open(self) -> _Stream:
        if self._stream is None or self._stream.closed:
            stream = _Stream(self._client.stubs.lease.LeaseKeepAlive(metadata=LEADER_REQUIRED))
            stream.tasks = [asyncio.create_task(self._read(stream)),
                            asyncio.create_task(self._write(stream))]
            self._stream = stream
        return self._stream

    async def _read(self, stream: _Stream) -> None:
        error = Unavailable("etcd closed the lease keepalive stream")
        try:
            while True:
                resp = await stream.call.read()
                if resp is grpc.aio.EOF:
                    break
                if stream.written:
                    stream.written.popleft()
                for fut in stream.pending.pop(resp.ID, []):
                    if not fut.done():
                        fut.set_result(max(resp.TTL, 0))
        except grpc.aio.AioRpcError as exc:
            error = Unavailable(f"etcd lease keepalive stream failed: {exc.code().name}")
            self._client.on_error(OP, exc.code())
            self._client.failover()
        except asyncio.CancelledError:
            pass
        finally:
            self._close(stream, error)

    async def _write(self, stream: _Stream) -> None:
        try:
            while True:
                lease = await stream.outbox.get()
                stream.written.append(time.monotonic())
                await stream.call.write(rpc_pb2.LeaseKeepAliveRequest(ID=lease))
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError) as exc:
            self._close(stream, Unavailable(f"etcd lease keepalive stream failed: {exc!r}"))

    def _close(self, stream: _Stream, error: Exception) -> None:
        stream.fail(error)
        stream.call.cancel()
        for task in stream.tasks:
            if task is not asyncio.current_task():
                task.cancel()

    async def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            self._close(stream, Unavailable("the coordinator is shutting down"))
            for task in stream.tasks:
                with contextlib.suppress(BaseException):
                    await task
