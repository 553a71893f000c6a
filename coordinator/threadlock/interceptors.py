"""gRPC server interceptors that wrap each unary method of one service, once: the call tracker
(tasks for the drain, metrics, malformed requests) here, and the auth check
(threadlock.auth.faces). `MethodWrapper` is the shared mechanism: look the method up, build its
wrapped handler the first time, reuse it after."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

import grpc
import grpc.aio

from threadlock.metrics import Recorder, call_code

Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


class MethodWrapper(grpc.aio.ServerInterceptor):
    """Wraps each unary method of `service` with `wrap(handler, method name)`, built once per
    method and cached; other services and streaming methods pass through untouched."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._wrapped: dict[str, Handler] = {}

    async def intercept_service(
            self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
            handler_call_details: grpc.HandlerCallDetails) -> Handler | None:
        path = handler_call_details.method
        wrapped = self._wrapped.get(path)
        if wrapped is not None:
            return wrapped
        handler = await continuation(handler_call_details)
        if (handler is None or handler.unary_unary is None
                or not path.startswith(f"/{self.service}/")):
            return handler
        self._wrapped[path] = wrapped = self.wrap(handler, path.rpartition("/")[2])
        return wrapped

    def wrap(self, handler: Handler, method: str) -> Handler:
        raise NotImplementedError


class CallTracker(MethodWrapper):
    """Remembers the tasks of running LockService calls, so that `Server.stop` can let the
    cancelled ones finish their cleanup before it closes the store under them; and reports
    each call's duration and status code to the recorder."""

    def __init__(self, recorder: Recorder, service: str) -> None:
        super().__init__(service)
        self.tasks: set[asyncio.Task[Any]] = set()
        self.recorder = recorder

    def wrap(self, handler: Handler, method: str) -> Handler:
        inner: Any = handler.unary_unary

        async def tracked(request: Any, context: Any) -> Any:
            task = asyncio.current_task()
            if task is not None:
                self.tasks.add(task)
            start, failure = time.monotonic(), None
            try:
                if isinstance(request, _Malformed):
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.problem)
                return await inner(request, context)
            except BaseException as exc:
                failure = exc
                raise
            finally:
                self.recorder.rpc_done(method, call_code(context, failure),
                                       time.monotonic() - start)
                if task is not None:
                    self.tasks.discard(task)

        wrapped: Handler = grpc.unary_unary_rpc_method_handler(
            tracked, request_deserializer=_lenient(handler.request_deserializer),
            response_serializer=handler.response_serializer)
        return wrapped


class LenientStreams(grpc.aio.ServerInterceptor):
    """A bidi stream method of `service` gets `_lenient`'s parser: a frame whose bytes are not
    its message arrives as `_Malformed`, so that the method can end the stream with
    INVALID_ARGUMENT naming the problem (gRPC would answer UNKNOWN)."""

    def __init__(self, service: str) -> None:
        self.service = service

    async def intercept_service(
            self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
            handler_call_details: grpc.HandlerCallDetails) -> Handler | None:
        handler = await continuation(handler_call_details)
        if (handler is None or handler.stream_stream is None
                or not handler_call_details.method.startswith(f"/{self.service}/")):
            return handler
        wrapped: Handler = grpc.stream_stream_rpc_method_handler(
            handler.stream_stream, request_deserializer=_lenient(handler.request_deserializer),
            response_serializer=handler.response_serializer)
        return wrapped


def malformed(request: object) -> str | None:
    """What is wrong with a request that `_lenient` could not parse; None if it parsed."""
    return request.problem if isinstance(request, _Malformed) else None


class _Malformed:
    """A request whose bytes are not its message (gRPC would answer UNKNOWN for the parse
    error; callers get INVALID_ARGUMENT instead, and the RPC never runs)."""

    def __init__(self, problem: str) -> None:
        self.problem = problem


def _lenient(parse: Any) -> Callable[[bytes], Any]:
    def deserialize(raw: bytes) -> Any:
        try:
            return parse(raw) if parse is not None else raw
        except Exception as exc:  # DecodeError, and whatever a parser may raise on garbage
            return _Malformed(f"request: not a valid protobuf message ({exc})")
    return deserialize
