"""gRPC server interceptors that wrap each unary method of one service, once: the call tracker
(tasks for the drain, metrics, malformed requests) and the tracer (with --otel) here, and the
auth check (threadlock.auth.faces). `MethodWrapper` is the shared mechanism: look the method
up, build its wrapped handler the first time, reuse it after."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

import grpc
import grpc.aio

from threadlock.metrics import Recorder, call_code
from threadlock.tracing import Tracing, carrier_of

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
        if handler is None or not path.startswith(f"/{self.service}/"):
            return handler
        method = path.rpartition("/")[2]
        if handler.unary_unary is not None:
            wrapped = self.wrap(handler, method)
        elif handler.unary_stream is not None:
            wrapped = self.wrap_stream(handler, method)
        else:
            return handler
        self._wrapped[path] = wrapped
        return wrapped

    def wrap(self, handler: Handler, method: str) -> Handler:
        raise NotImplementedError

    def wrap_stream(self, handler: Handler, method: str) -> Handler:
        """A server-streaming method (Watch); passes through unless a subclass wraps it."""
        return handler


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


class TracingWrapper(MethodWrapper):
    """One SERVER span per call (threadlock.tracing), continuing the W3C trace context of the
    call's metadata. Installed only with --otel; inside the call tracker and outside the auth
    check, so that refused calls are traced too."""

    def __init__(self, tracing: Tracing, service: str) -> None:
        super().__init__(service)
        self.tracing = tracing

    def wrap(self, handler: Handler, method: str) -> Handler:
        inner: Any = handler.unary_unary

        async def traced(request: Any, context: Any) -> Any:
            if isinstance(request, _Malformed):  # the call tracker refuses it first
                return await inner(request, context)
            carrier = carrier_of(context.invocation_metadata())
            with self.tracing.rpc(method, request, carrier, "grpc") as span:
                try:
                    response = await inner(request, context)
                except BaseException as exc:
                    span.failed(call_code(context, exc))
                    raise
                span.answered(response)
                return response

        wrapped: Handler = grpc.unary_unary_rpc_method_handler(
            traced, request_deserializer=handler.request_deserializer,
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
