"""The HTTP face of the coordinator: the Connect protocol (connect_protocol.py) served by
aiohttp on the same event loop as the gRPC server, calling the same LockRpcs (service.py), so
both faces share the LockManager, validation, deadlines, metrics and logs.

    face = HttpFace(LockRpcs(manager), recorder, ssl_context(config.tls), tracked_tasks)
    port = await face.start("0.0.0.0:8080")   # POST /threadlock.v1.LockService/<Method>
    await face.stop(grace=10)

Deadlines: Connect-Timeout-Ms bounds the call as a gRPC deadline does (the RPC's budget keeps a
margin to answer `busy` in time; past the deadline the call is cancelled and answers
deadline_exceeded). A client that disconnects cancels its call (aiohttp's handler
cancellation), so a queued Acquire leaves its queue as a cancelled gRPC call does.
TLS: with an SSL context (`ssl_context(config.tls)`), the port speaks only HTTPS, with the gRPC
port's certificate and, for mutual TLS, its client CA. HTTP/1.1 only: Connect's unary calls
need nothing more.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from aiohttp import web
from google.protobuf.message import Message

from threadlock import connect_protocol as cp
from threadlock.auth.faces import authenticate_call, tls_peer
from threadlock.auth.tenancy import current
from threadlock.auth.verify import Authenticator
from threadlock.config import Config, ServerTls
from threadlock.metrics import Recorder, split_address
from threadlock.server_tls import StartupError
from threadlock.service import LockRpcs
from threadlock.tracing import RpcSpan, Tracing

log = logging.getLogger("threadlock.http")

KEEPALIVE_TIMEOUT = 75.0  # seconds an idle keep-alive connection stays open


def ssl_context(tls: ServerTls) -> ssl.SSLContext:
    """A server context from the gRPC port's TLS files (checked by server_credentials).
    Raises ssl.SSLError if OpenSSL's defaults refuse them (e.g. an RSA key under 2048 bits)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.client_ca_file is not None:
        ctx.load_verify_locations(tls.client_ca_file)
        ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


async def start_site(runner: web.BaseRunner, host: str, port: int,
                     tls: ssl.SSLContext | None = None) -> int:
    """Set `runner` up and listen on host:port (0: any free port); the port bound. Nothing is
    left behind if the listen fails (a port in use). Shared by the HTTP face and the status
    page."""
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_port=False, ssl_context=tls).start()
    except BaseException:
        await runner.cleanup()
        raise
    return int(runner.addresses[0][1])


class HttpFace:
    def __init__(self, rpcs: LockRpcs, recorder: Recorder, tls: ssl.SSLContext | None,
                 tracked: set[asyncio.Task[Any]],
                 authenticator: Authenticator | None = None,
                 tracing: Tracing | None = None) -> None:
        self.rpcs = rpcs
        self.tracing = tracing  # None: traces off
        self.authenticator = authenticator  # None: auth off
        self.recorder = recorder
        self.tls = tls
        self.tracked = tracked  # the server's set of running calls, drained on shutdown
        self.port = 0
        self._calls: set[asyncio.Task[Any]] = set()
        self._runner: web.ServerRunner | None = None
        self._stopping = False
        self._functions: dict[str, Callable[[Any, float | None], Awaitable[Message]]] = {
            p.name: getattr(rpcs, p.name) for p in cp.PROCEDURES.values()}

    @property
    def stopping(self) -> bool:
        """True once `stop` began: new calls are refused (unavailable)."""
        return self._stopping

    async def start(self, listen: str) -> int:
        """Listen on `listen` (host:port); return the bound port. Raises OSError."""
        host, port = split_address(listen)
        server = web.Server(self._handle, handler_cancellation=True, auto_decompress=False,
                            access_log=None, keepalive_timeout=KEEPALIVE_TIMEOUT)
        runner = web.ServerRunner(server, shutdown_timeout=1.0)
        self.port = await start_site(runner, host, port, self.tls)
        self._runner = runner
        return self.port

    async def stop(self, grace: float) -> None:
        """Stop listening, give running calls up to `grace` seconds, then cancel them. A second
        call (e.g. with grace 0) while the first waits cuts the wait short."""
        self._stopping = True
        runner, self._runner = self._runner, None
        if runner is not None:
            for site in list(runner.sites):
                await site.stop()  # no new connections
        if self._calls and grace > 0:
            await asyncio.wait(set(self._calls), timeout=grace)
        for task in self._calls:
            task.cancel()
        if runner is not None:
            await runner.cleanup()  # closes idle keep-alive connections

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        start = time.monotonic()
        call: cp.Call | None = None
        code = grpc.StatusCode.OK
        task = asyncio.current_task()
        try:
            headers = {k.lower(): v for k, v in request.headers.items()}
            call = cp.parse_call(request.method, request.path, headers)
            if task is not None:
                self._calls.add(task)
                self.tracked.add(task)
            if self._stopping:
                raise cp.ProtocolError(grpc.StatusCode.UNAVAILABLE, "server is shutting down")
            if self.authenticator is not None:  # the gRPC port's interceptor does the same
                transport = request.transport
                peer = tls_peer(transport.get_extra_info("peercert") if transport else None)
                token = await authenticate_call(self.authenticator, call.procedure.name,
                                                headers.get("authorization"), peer)
                try:
                    answer = await self._call(call, request, start)
                finally:
                    current.reset(token)
            else:
                answer = await self._call(call, request, start)
            body, gzipped = cp.compress(call, cp.encode(call, answer))
            return _response(200, cp.content_type(call), body, gzipped)
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED  # the client went away (or shutdown cut it off)
            raise
        except Exception as exc:  # every failure becomes a Connect error, never a crash
            code, status, body = cp.error_of(exc)
            if code == grpc.StatusCode.INTERNAL:
                log.exception("HTTP call failed unexpectedly", extra={"path": request.path})
            elif call is None:
                log.debug("refused HTTP request: %s", exc,
                          extra={"path": request.path, "method": request.method})
            body, gzipped = cp.compress(call, body)
            response = _response(status, "application/json", body, gzipped)
            if status == 405:
                response.headers["Allow"] = "POST"
            return response
        finally:
            if call is not None:
                self.recorder.rpc_done(call.procedure.name, code, time.monotonic() - start)
            if task is not None:
                self._calls.discard(task)
                self.tracked.discard(task)

    async def _call(self, call: cp.Call, request: web.BaseRequest, start: float) -> Message:
        if request.content_length is not None and request.content_length > cp.MAX_BODY:
            raise cp.ProtocolError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                   f"request body over {cp.MAX_BODY} bytes")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise cp.ProtocolError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                   f"request body over {cp.MAX_BODY} bytes") from None
        message = cp.decode(call, body)
        if self.tracing is None:
            return await self._run(call, message, start)
        carrier = {k.lower(): v for k, v in request.headers.items()
                   if k.lower() in ("traceparent", "tracestate")}
        with self.tracing.rpc(call.procedure.name, message, carrier, "http") as span:
            try:
                answer = await self._run(call, message, start)
            except BaseException as exc:
                _span_failed(span, exc)
                raise
            span.answered(answer)
            return answer

    async def _run(self, call: cp.Call, message: Message, start: float) -> Message:
        function = self._functions[call.procedure.name]
        if call.timeout is None:
            return await function(message, None)
        deadline = start + call.timeout
        loop = asyncio.get_running_loop()
        timeout = asyncio.timeout_at(loop.time() + deadline - time.monotonic())
        try:
            async with timeout:
                return await function(message, deadline - time.monotonic())
        except TimeoutError:
            if not timeout.expired():
                raise
            raise cp.ProtocolError(grpc.StatusCode.DEADLINE_EXCEEDED,
                                   f"deadline of {call.timeout:g}s exceeded") from None


async def start_face(config: Config, rpcs: LockRpcs, recorder: Recorder,
                     tracked: set[asyncio.Task[Any]],
                     authenticator: Authenticator | None = None,
                     tracing: Tracing | None = None) -> HttpFace:
    """The HTTP face of `config.http_listen`, started, with `config.tls` (the gRPC port's TLS).
    Raises StartupError naming the option at fault."""
    try:
        context = ssl_context(config.tls) if config.tls is not None else None
    except ssl.SSLError as exc:
        raise StartupError(f"--http-listen: the TLS files (--tls-cert/--tls-key) are refused "
                           f"for HTTPS: {exc.reason or exc}") from None
    face = HttpFace(rpcs, recorder, context, tracked, authenticator, tracing)
    try:
        await face.start(config.http_listen)
    except OSError as exc:
        raise StartupError(f"--http-listen: cannot listen on {config.http_listen}: "
                           f"{exc.strerror or exc}") from None
    host = config.http_listen.rpartition(":")[0]
    tls = "off" if config.tls is None else "mutual" if config.tls.mutual else "on"
    log.info("serving the Connect protocol on %s:%d (TLS: %s)", host, face.port, tls,
             extra={"http_port": face.port, "tls": tls})
    return face


def _span_failed(span: RpcSpan, exc: BaseException) -> None:
    span.failed(grpc.StatusCode.CANCELLED if isinstance(exc, asyncio.CancelledError)
                else cp.error_of(exc)[0])


def _response(status: int, content_type: str, body: bytes, gzipped: bool) -> web.Response:
    response = web.Response(status=status, body=body, content_type=content_type)
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    return response
