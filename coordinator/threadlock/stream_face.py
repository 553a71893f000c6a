"""LockService.Stream: many calls as messages on one bidirectional gRPC stream (the contract's
comments on `Stream` are the reference). Each frame's call runs the same LockRpcs function a
unary call runs (service.py), in a task of its own, so validation, deadlines, quotas, metrics
and logs are the unary path's. One writer task sends the answers, in the order they finish.

Why a stream at all: grpc.aio spends ~0.18 ms of CPU serving a unary call and ~0.06 ms on a
message of an open stream; a lock+unlock is two calls, so this is the cheap path for SDKs.

Auth: the interceptors see only the stream, so the stream authenticates itself, once when it
opens (a bad credential ends it with UNAUTHENTICATED) and again in each call's task with the
stream's credential (an expired JWT or a revoked key stops working on open streams too); the
call then runs with that Principal current, and GuardedRpcs checks the role per call.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import grpc.aio
from google.protobuf.message import Message

from threadlock.auth.faces import authenticate_call, grpc_peer
from threadlock.auth.tenancy import current
from threadlock.auth.verify import Authenticator
from threadlock.errors import (
    InvalidArgument,
    LockError,
    PermissionDenied,
    ResourceExhausted,
    status_of,
)
from threadlock.interceptors import malformed
from threadlock.metrics import Recorder
from threadlock.service import Ctx, LockRpcs
from threadlock.tracing import Tracing
from threadlock.v1 import lock_pb2 as pb

log = logging.getLogger("threadlock.stream")

# StreamRequest's `call` field -> the LockRpcs method (also the metrics' `method` label).
METHODS = {"acquire": "Acquire", "keep_alive": "KeepAlive", "release": "Release",
           "open_session": "OpenSession", "close_session": "CloseSession", "status": "Status",
           "force_release": "ForceRelease"}
Function = Callable[[Any, float | None], Awaitable[Message]]


def failure(call_id: int, code: grpc.StatusCode, message: str) -> pb.StreamResponse:
    return pb.StreamResponse(call_id=call_id,
                             error=pb.StreamError(code=code.value[0], message=message))


_CODES = {c.value[0]: c for c in grpc.StatusCode}


class StreamFace:
    """Serves LockService.Stream with `rpcs`. `tracked`: the server's set of running calls
    (each frame's task joins it, so shutdown drains them like unary calls); `stopping()`:
    true once the server shuts down (new calls then answer UNAVAILABLE)."""

    def __init__(self, rpcs: LockRpcs, recorder: Recorder, tracked: set[asyncio.Task[Any]],
                 authenticator: Authenticator | None, max_calls: int,
                 stopping: Callable[[], bool], tracing: Tracing | None = None) -> None:
        self.recorder = recorder
        self.tracing = tracing  # a SERVER span per frame, from the frame's own headers
        self.tracked = tracked
        self.authenticator = authenticator
        self.max_calls = max_calls
        self.stopping = stopping
        self.functions: dict[str, Function] = {
            field: getattr(rpcs, name) for field, name in METHODS.items()}

    async def serve(self, frames: AsyncIterator[pb.StreamRequest], context: Ctx) -> None:
        stream = _Stream(self, context)
        if self.authenticator is not None:
            metadata = context.invocation_metadata() or ()
            stream.authorization = next((str(v) for k, v in metadata
                                         if k == "authorization"), None)
            auth_context: Any = context.auth_context() or {}
            stream.peer = grpc_peer(auth_context)
            try:
                token = await authenticate_call(self.authenticator, "Stream",
                                                stream.authorization, stream.peer)
            except LockError as exc:
                await context.abort(*status_of(exc))
            stream.tenant = current.get().tenant  # type: ignore[union-attr]
            current.reset(token)
        await stream.run(frames)


class _Stream:
    """One open stream: its calls in flight by call_id, and the queue its writer drains."""

    def __init__(self, face: StreamFace, context: Ctx) -> None:
        self.face = face
        self.context = context
        self.calls: dict[int, asyncio.Task[None]] = {}
        self.out: asyncio.Queue[pb.StreamResponse | None] = asyncio.Queue()
        self.authorization: str | None = None
        self.peer: list[tuple[str, str]] = []
        self.tenant = ""

    async def run(self, frames: AsyncIterator[pb.StreamRequest]) -> None:
        writer = asyncio.create_task(self._write(), name="threadlock-stream-writer")
        writer.add_done_callback(lambda t: t.cancelled() or t.exception())  # a broken stream
        try:
            async for frame in frames:
                problem = malformed(frame)
                if problem is not None:  # no call_id to answer: the stream ends
                    await self.context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
                self._dispatch(frame)
            # The client finished sending: answer what is in flight, then end the stream.
            while self.calls:
                await asyncio.wait(set(self.calls.values()))
            self.out.put_nowait(None)
            await writer
        finally:
            # Broken or ended: calls still in flight are cancelled like cancelled unary calls
            # (a queued Acquire leaves its queue); their tasks stay tracked until done.
            for task in self.calls.values():
                task.cancel()
            writer.cancel()

    async def _write(self) -> None:
        while (answer := await self.out.get()) is not None:
            await self.context.write(answer)

    def _dispatch(self, frame: pb.StreamRequest) -> None:
        call_id, which = frame.call_id, frame.WhichOneof("call")
        if which == "cancel":
            task = self.calls.get(call_id)
            if task is not None:
                task.cancel()
            return
        method = METHODS.get(which or "", "Stream")
        problem: LockError | None = None
        if which is None:
            problem = InvalidArgument("call", "set one of " + ", ".join(METHODS) + ", cancel")
        elif call_id == 0:
            problem = InvalidArgument("call_id", "must be > 0")
        elif call_id in self.calls:
            problem = InvalidArgument("call_id", f"{call_id} is already in flight on this "
                                                 "stream")
        elif frame.HasField("timeout") and frame.timeout.ToNanoseconds() < 0:
            problem = InvalidArgument("timeout", "must not be negative")
        elif len(self.calls) >= self.face.max_calls:
            problem = ResourceExhausted("max_stream_calls", f"{len(self.calls)} calls are "
                                        "already in flight on this stream; wait for answers "
                                        "or open another stream")
        elif self.face.stopping():
            problem = _ShuttingDown("server is shutting down; retry on another stream or "
                                    "replica")
        if problem is not None:
            code, message = status_of(problem)
            self.recorder_done(method, code, 0.0)
            self.out.put_nowait(failure(call_id, code, message))
            return
        assert which is not None
        timeout = frame.timeout.ToNanoseconds() / 1e9 if frame.HasField("timeout") else None
        # A fresh context per call: its Principal must not leak into the next frame's.
        task = asyncio.create_task(
            self._call(call_id, which, getattr(frame, which), timeout, dict(frame.headers)),
            name=f"threadlock-stream-{method}", context=contextvars.copy_context())
        self.calls[call_id] = task
        self.face.tracked.add(task)
        task.add_done_callback(self.face.tracked.discard)

    def recorder_done(self, method: str, code: grpc.StatusCode, seconds: float) -> None:
        self.face.recorder.rpc_done(method, code, seconds)

    async def _call(self, call_id: int, which: str, request: Message, timeout: float | None,
                    headers: dict[str, str]) -> None:
        if self.face.tracing is None:
            await self._call_untraced(call_id, which, request, timeout)
            return
        # As the unary TracingWrapper does: continue the caller's W3C context (here the
        # frame's headers, since the stream's metadata is shared by all its calls).
        with self.face.tracing.rpc(METHODS[which], request, headers, "grpc") as span:
            answer = await self._call_untraced(call_id, which, request, timeout)
            result = answer.WhichOneof("result")
            if result == "error" or result is None:
                span.failed(_CODES.get(answer.error.code, grpc.StatusCode.UNKNOWN))
            else:
                span.answered(getattr(answer, result))

    async def _call_untraced(self, call_id: int, which: str, request: Message,
                             timeout: float | None) -> pb.StreamResponse:
        start = time.monotonic()
        method = METHODS[which]
        code = grpc.StatusCode.OK
        try:
            answer = await self._answer(call_id, which, request, timeout, start)
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED  # a cancel frame, or the stream broke
            self.out.put_nowait(failure(call_id, code, "call cancelled"))
            raise
        except Exception as exc:  # every failure is this call's answer, never the stream's
            code, message = status_of(exc)
            if code == grpc.StatusCode.INTERNAL:
                log.exception("stream call %s failed unexpectedly", method)
            answer = failure(call_id, code, message)
        finally:
            self.calls.pop(call_id, None)
            self.recorder_done(method, code, time.monotonic() - start)
        self.out.put_nowait(answer)
        return answer

    async def _answer(self, call_id: int, which: str, request: Message, timeout: float | None,
                      start: float) -> pb.StreamResponse:
        token: contextvars.Token[Any] | None = None
        if self.face.authenticator is not None:  # as the unary interceptor does, per call
            token = await authenticate_call(self.face.authenticator, METHODS[which],
                                            self.authorization, self.peer)
            principal = current.get()
            if principal is not None and principal.tenant != self.tenant:
                raise PermissionDenied("the stream's credential now belongs to another "
                                       "tenant; open a new stream")
        try:
            function = self.face.functions[which]
            if timeout is None:
                response = await function(request, None)
            else:
                loop = asyncio.get_running_loop()
                deadline = start + timeout
                limit = asyncio.timeout_at(loop.time() + timeout)
                try:
                    async with limit:
                        response = await function(request, deadline - time.monotonic())
                except TimeoutError:
                    if not limit.expired():
                        raise
                    raise _DeadlineExceeded(f"deadline of {timeout:g}s exceeded") from None
        finally:
            if token is not None:
                current.reset(token)
        answer = pb.StreamResponse(call_id=call_id)
        getattr(answer, which).CopyFrom(response)
        return answer


class _DeadlineExceeded(LockError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class _ShuttingDown(LockError):
    code = grpc.StatusCode.UNAVAILABLE
