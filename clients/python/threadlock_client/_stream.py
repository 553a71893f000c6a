"""How the drivers perform a protocol `Call`: over LockService.Stream (the default) or as a
unary RPC (`transport="unary"`). The policy (deadlines, failover, request_id retries) stays in
_protocol.py; a transport only turns one Call into its response or an RpcFailure.

The stream transport multiplexes every call of one client to one address over one
long-lived bidirectional stream (a message costs the coordinator about a third of a unary
call). Each call is a frame with a call_id and the call's own timeout; the answer with that
call_id completes it. A caller that gives up (its timeout, or cancellation) sends a cancel
frame, so a queued Acquire leaves the queue at once, as a cancelled unary call would. When a
stream breaks, its calls in flight fail UNAVAILABLE and the next call opens a new stream: the
flows then retry as after a lost unary response (Acquire with the same request_id). A stream
that answered UNAVAILABLE (the coordinator is shutting down), or whose credential file has
changed, takes no new calls. A coordinator without Stream (UNIMPLEMENTED) is called unary.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import queue
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import grpc
import grpc.aio
from google.protobuf.message import Message

from threadlock_client._auth import Bearer
from threadlock_client._proto import lock_pb2 as pb
from threadlock_client._proto import lock_pb2_grpc
from threadlock_client._protocol import Call, RpcFailure

TRANSPORTS = ("stream", "unary")
DEFAULT_TRANSPORT = "stream"
MAX_CALLS = 1000  # calls in flight per stream: the coordinator's default max_stream_calls
FIELDS = {"Acquire": "acquire", "KeepAlive": "keep_alive", "Release": "release",
          "OpenSession": "open_session", "CloseSession": "close_session", "Status": "status",
          "ForceRelease": "force_release"}
_CODES = {c.value[0]: c for c in grpc.StatusCode}
# A stream that ends with one of these failed to open for a reason its calls share (a bad
# credential); any other end means "no answer": UNAVAILABLE, which the flows retry.
_PASSED_ON = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED,
              grpc.StatusCode.UNIMPLEMENTED)


def check_transport(transport: str) -> str:
    if transport not in TRANSPORTS:
        raise ValueError(f"transport: must be 'stream' or 'unary', got {transport!r}")
    return transport


class StreamBroke(RpcFailure):
    """A call got no answer because its stream ended (`code`: why, as the flows see it)."""


Metadata = Sequence[tuple[str, str]]


def frame(call_id: int, op: Call, metadata: Metadata | None = None) -> pb.StreamRequest:
    """The frame of one call. `metadata`: per-call headers (the W3C trace context that a
    unary call would send as metadata; the stream's own metadata is its credential)."""
    out = pb.StreamRequest(call_id=call_id, headers=dict(metadata or ()))
    out.timeout.FromNanoseconds(int(max(op.timeout, 0.0) * 1e9))
    getattr(out, FIELDS[op.method]).CopyFrom(op.request)
    return out


def cancel_frame(call_id: int) -> pb.StreamRequest:
    return pb.StreamRequest(call_id=call_id, cancel=pb.StreamCancel())


def answer(resp: pb.StreamResponse) -> Message:
    """The response of a call's answer; its error raised as RpcFailure."""
    which = resp.WhichOneof("result")
    if which == "error" or which is None:
        code = _CODES.get(resp.error.code, grpc.StatusCode.UNKNOWN)
        raise RpcFailure(code, resp.error.message or "empty answer")
    result: Message = getattr(resp, which)
    return result


def broke(code: grpc.StatusCode | None, details: str) -> StreamBroke:
    if code in _PASSED_ON:
        assert code is not None
        return StreamBroke(code, details)
    return StreamBroke(grpc.StatusCode.UNAVAILABLE,
                       f"the stream to the coordinator ended ({details or code}); no answer")


def shutting_down(failure: RpcFailure) -> bool:
    """The coordinator of this stream is shutting down (stream_face.py's answer): new calls
    go to a new stream (another replica, or the restarted one)."""
    return (failure.code == grpc.StatusCode.UNAVAILABLE
            and failure.details.startswith("server is shutting down"))


def _metadata(header: str | None) -> tuple[tuple[str, str], ...] | None:
    return (("authorization", header),) if header else None


class _Ids:
    """call_ids, and the bookkeeping shared by both kinds of stream."""

    def __init__(self, header: str | None) -> None:
        self.header = header  # the credential the stream was opened with
        self.ids = itertools.count(1)
        self.closed = False  # broken, or retired: takes no new calls
        # The refusal the stream ended with (_PASSED_ON: a credential refused, no Stream
        # there), set before `closed`: a call that comes after the stream ended gets it too.
        self.refused: tuple[grpc.StatusCode, str] | None = None

    def ended(self, code: grpc.StatusCode | None, details: str) -> StreamBroke:
        """Note how the stream ended; the failure of the calls it leaves unanswered."""
        if code in _PASSED_ON:
            assert code is not None
            self.refused = (code, details)
        return broke(code, details)

    def refusal(self) -> StreamBroke:
        """What a call that finds the stream closed gets: the stream's refusal, which every
        call shares (else it would be UNAVAILABLE, retried on new streams refused the same way
        until the call's budget ran out), or UNAVAILABLE "no answer" for the flows to retry."""
        if self.refused is not None:
            return broke(*self.refused)
        return broke(None, "it closed before the call")

    def usable(self, header: str | None, in_flight: int) -> bool:
        return not self.closed and header == self.header and in_flight < MAX_CALLS


# --- asyncio ------------------------------------------------------------------------------------

class _AsyncStream(_Ids):
    def __init__(self, stub: lock_pb2_grpc.LockServiceStub, header: str | None) -> None:
        super().__init__(header)
        self.pending: dict[int, asyncio.Future[pb.StreamResponse]] = {}
        self._out: asyncio.Queue[pb.StreamRequest | None] = asyncio.Queue()
        self._call = stub.Stream(self._frames(), metadata=_metadata(header))
        self._reader = asyncio.create_task(self._read(), name="threadlock-stream-reader")

    async def _frames(self) -> AsyncIterator[pb.StreamRequest]:
        while (item := await self._out.get()) is not None:
            yield item

    async def _read(self) -> None:
        code: grpc.StatusCode | None = None
        details = "the coordinator ended it"
        try:
            async for resp in self._call:
                waiter = self.pending.pop(resp.call_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(resp)
        except grpc.aio.AioRpcError as exc:
            code, details = exc.code(), exc.details() or ""
        except asyncio.CancelledError:
            details = "the client closed it"
        finally:
            failure = self.ended(code, details)
            self.closed = True
            self._out.put_nowait(None)  # ends the frame generator
            for waiter in self.pending.values():
                if not waiter.done():
                    waiter.set_exception(failure)
            self.pending.clear()

    def retire(self) -> None:
        """No new calls; the coordinator answers those in flight, then ends the stream."""
        if not self.closed:
            self.closed = True
            self._out.put_nowait(None)

    async def call(self, op: Call, metadata: Metadata | None = None) -> Message:
        if self.closed:
            raise self.refusal()
        call_id = next(self.ids)
        waiter: asyncio.Future[pb.StreamResponse] = asyncio.get_running_loop().create_future()
        self.pending[call_id] = waiter
        self._out.put_nowait(frame(call_id, op, metadata))
        try:
            async with asyncio.timeout(op.timeout):
                resp = await waiter
        except TimeoutError:
            self._give_up(call_id)
            raise RpcFailure(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded") from None
        except asyncio.CancelledError:
            self._give_up(call_id)
            raise
        return answer(resp)

    def _give_up(self, call_id: int) -> None:
        if self.pending.pop(call_id, None) is not None and not self._reader.done():
            self._out.put_nowait(cancel_frame(call_id))  # a queued Acquire leaves the queue

    async def close(self) -> None:
        self.closed = True
        self._call.cancel()
        await asyncio.wait({self._reader}, timeout=5)


class AsyncTransport:
    """Calls for AsyncLockClient: per address, a stream (more when one is full) or unary."""

    def __init__(self, channels: Sequence[grpc.aio.Channel], bearer: Bearer | None,
                 transport: str) -> None:
        self._stubs = [lock_pb2_grpc.LockServiceStub(c) for c in channels]
        self._bearer = bearer
        self._streaming = [check_transport(transport) == "stream"] * len(channels)
        self._streams: list[list[_AsyncStream]] = [[] for _ in channels]

    async def call(self, op: Call, metadata: Metadata | None = None) -> Message:
        if self._streaming[op.target]:
            stream = self._stream(op.target)
            try:
                response = await stream.call(op, metadata)
            except StreamBroke as failure:
                if failure.code != grpc.StatusCode.UNIMPLEMENTED:
                    raise
                self._streaming[op.target] = False  # an older coordinator: unary from now on
            except RpcFailure as failure:
                if shutting_down(failure):
                    stream.retire()  # the retry takes a new stream
                raise
            else:
                return response
        try:
            result: Message = await getattr(self._stubs[op.target], op.method)(
                op.request, timeout=op.timeout, metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            raise RpcFailure(exc.code(), exc.details() or "") from None
        return result

    def _stream(self, target: int) -> _AsyncStream:
        header = self._bearer.header() if self._bearer is not None else None
        streams = self._streams[target]
        for stream in list(streams):
            if stream.usable(header, len(stream.pending)):
                return stream
            if stream.closed or stream.header != header:
                stream.retire()
                if not stream.pending:
                    streams.remove(stream)
        fresh = _AsyncStream(self._stubs[target], header)
        streams.append(fresh)
        return fresh

    async def close(self) -> None:
        for streams in self._streams:
            for stream in streams:
                await stream.close()
            streams.clear()


# --- threads ------------------------------------------------------------------------------------

class _SyncStream(_Ids):
    def __init__(self, stub: lock_pb2_grpc.LockServiceStub, header: str | None) -> None:
        super().__init__(header)
        self.pending: dict[int, concurrent.futures.Future[pb.StreamResponse]] = {}
        self._lock = threading.Lock()
        self._out: queue.SimpleQueue[pb.StreamRequest | None] = queue.SimpleQueue()
        self._call: Any = stub.Stream(self._frames(), metadata=_metadata(header))
        self._reader = threading.Thread(target=self._read, daemon=True,
                                        name="threadlock-stream-reader")
        self._reader.start()

    def _frames(self) -> Iterator[pb.StreamRequest]:
        while (item := self._out.get()) is not None:
            yield item

    def _read(self) -> None:
        code: grpc.StatusCode | None = None
        details = "the coordinator ended it"
        try:
            for resp in self._call:
                with self._lock:
                    waiter = self.pending.pop(resp.call_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(resp)
        except grpc.RpcError as exc:
            code, details = exc.code(), exc.details() or ""
        finally:
            with self._lock:
                failure = self.ended(code, details)
                self.closed = True
                waiters, self.pending = list(self.pending.values()), {}
            self._out.put(None)  # frees the thread that sends the frames
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(failure)

    def retire(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
        self._out.put(None)

    def call(self, op: Call, metadata: Metadata | None = None) -> Message:
        waiter: concurrent.futures.Future[pb.StreamResponse] = concurrent.futures.Future()
        with self._lock:
            if self.closed:  # broken, or retired (its end-of-frames is already queued)
                raise self.refusal()
            call_id = next(self.ids)
            self.pending[call_id] = waiter
        self._out.put(frame(call_id, op, metadata))
        try:
            resp = waiter.result(op.timeout)
        except concurrent.futures.TimeoutError:
            self._give_up(call_id)
            raise RpcFailure(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded") from None
        except BaseException:  # KeyboardInterrupt and the like: leave nothing queued
            self._give_up(call_id)
            raise
        return answer(resp)

    def _give_up(self, call_id: int) -> None:
        with self._lock:
            mine = self.pending.pop(call_id, None) is not None
        if mine and self._reader.is_alive():
            self._out.put(cancel_frame(call_id))

    def close(self) -> None:
        self.closed = True
        self._call.cancel()
        self._out.put(None)
        self._reader.join(timeout=5)


class SyncTransport:
    """Calls for LockClient (thread-safe): per address, a stream or unary."""

    def __init__(self, channels: Sequence[grpc.Channel], bearer: Bearer | None,
                 transport: str) -> None:
        self._stubs = [lock_pb2_grpc.LockServiceStub(c) for c in channels]
        self._bearer = bearer
        self._streaming = [check_transport(transport) == "stream"] * len(channels)
        self._streams: list[list[_SyncStream]] = [[] for _ in channels]
        self._lock = threading.Lock()

    def call(self, op: Call, metadata: Metadata | None = None) -> Message:
        if self._streaming[op.target]:
            stream = self._stream(op.target)
            try:
                return stream.call(op, metadata)
            except StreamBroke as failure:
                if failure.code != grpc.StatusCode.UNIMPLEMENTED:
                    raise
                self._streaming[op.target] = False  # an older coordinator: unary from now on
            except RpcFailure as failure:
                if shutting_down(failure):
                    stream.retire()
                raise
        try:
            result: Message = getattr(self._stubs[op.target], op.method)(
                op.request, timeout=op.timeout, metadata=metadata)
        except grpc.RpcError as exc:
            raise RpcFailure(exc.code(), exc.details() or "") from None
        return result

    def _stream(self, target: int) -> _SyncStream:
        header = self._bearer.header() if self._bearer is not None else None
        with self._lock:
            streams = self._streams[target]
            for stream in list(streams):
                if stream.usable(header, len(stream.pending)):
                    return stream
                if stream.closed or stream.header != header:
                    stream.retire()
                    if not stream.pending:
                        streams.remove(stream)
            fresh = _SyncStream(self._stubs[target], header)
            streams.append(fresh)
            return fresh

    def close(self) -> None:
        with self._lock:
            streams = [s for pool in self._streams for s in pool]
            for pool in self._streams:
                pool.clear()
        for stream in streams:
            with contextlib.suppress(Exception):
                stream.close()
