"""OpenTelemetry spans of the SDK, through the OpenTelemetry API (`opentelemetry-api`, the
`threadlock-client[otel]` extra) when it is installed; the application's own TracerProvider
decides whether they are recorded and where they go. Without the API, or with no provider set
(the API's default), no span is made: a trace context already current is still passed on, and
the cost is a few microseconds a lock. The SDK itself needs only grpcio and protobuf.

Spans (all under whatever span is current where the lock is taken):
    threadlock.acquire    acquire() until granted, busy or failed; `threadlock.waited_s`
      threadlock.v1.LockService/Acquire    CLIENT, one per attempt, whose W3C context goes
                                           to the coordinator as `traceparent` metadata
    threadlock.hold       from the grant to the release or the loss; current inside
                          `with hold(...)`, so the guard's OpenAI calls nest in it; failed
                          renewals are its events (renewals get no client span of their own,
                          but carry its context: the coordinator's KeepAlive spans nest in it)
    threadlock.release    release()
      threadlock.v1.LockService/Release    CLIENT
    openai <method>       the guard's OpenAI call (guard/sync.py, guard/aio.py)

No secret goes into a span: no lease token, session id, credential or request_id.
The policy core (_protocol.py) knows nothing of this: the drivers open the spans around it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

try:
    from opentelemetry import context as _context
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError:  # the API is optional: no spans, nothing sent
    trace = None  # type: ignore[assignment]

SERVICE = "threadlock.v1.LockService"
Metadata = tuple[tuple[str, str], ...]

if trace is not None:
    _W3C: Any = TraceContextTextMapPropagator()
    # Where the tracer comes from: the application's global provider (tests put their own).
    provider: Any = trace.get_tracer_provider
    _NO_PROVIDER: tuple[type, ...] = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
_cache: tuple[Any, Any] = (None, None)  # (provider, its tracer or None)


def _tracer() -> Any:
    """The tracer of the provider in use, or None without one (nothing would be recorded,
    and the API's no-op spans cost ten times more than not making them)."""
    global _cache
    if trace is None:
        return None
    current = provider()
    if current is not _cache[0]:
        _cache = (current, None if isinstance(current, _NO_PROVIDER)
                  else current.get_tracer("threadlock_client"))
    return _cache[1]


def _context_only() -> Metadata | None:
    """The current trace context as metadata, when spans are not made (None: none)."""
    if trace is None or not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return tuple(carrier.items()) or None


class Rpc:
    """One RPC attempt as a CLIENT span; `metadata` carries its context (None: nothing).
    `Rpc(None, hold.metadata)`: a renewal, no span, under the hold's context."""

    def __init__(self, span: Any = None, metadata: Metadata | None = None) -> None:
        self.span = span
        self.metadata = metadata

    def failed(self, code: Any) -> None:
        if self.span is not None:
            self.span.set_attribute("rpc.grpc.status_code", code.value[0])
            self.span.set_status(trace.Status(trace.StatusCode.ERROR, code.name))


NO_RPC = Rpc()
_NOTHING = contextlib.nullcontext(NO_RPC)  # no span, no context: nothing to allocate


def rpc(method: str, address: str) -> contextlib.AbstractContextManager[Rpc]:
    """The CLIENT span of one call of `method` to `address`, current while it runs."""
    tracer = _tracer()
    if tracer is None:
        context = _context_only()
        return _NOTHING if context is None else contextlib.nullcontext(Rpc(None, context))
    return _rpc(tracer, method, address)


@contextlib.contextmanager
def _rpc(tracer: Any, method: str, address: str) -> Iterator[Rpc]:
    host, _, port = address.rpartition(":")
    with tracer.start_as_current_span(
            f"{SERVICE}/{method}", kind=trace.SpanKind.CLIENT, record_exception=False,
            attributes={"rpc.system": "grpc", "rpc.service": SERVICE, "rpc.method": method,
                        "server.address": host,
                        "server.port": int(port) if port.isdigit() else 0}) as span:
        carrier: dict[str, str] = {}
        _W3C.inject(carrier)
        yield Rpc(span, tuple(carrier.items()) or None)


class Acquire:
    """What acquire() reports on its span."""

    def __init__(self, span: Any) -> None:
        self.span = span
        self.start = time.monotonic()

    def granted(self, fencing_token: int) -> None:
        if self.span is not None:
            self.span.set_attributes({"threadlock.outcome": "granted",
                                      "threadlock.fencing_token": int(fencing_token),
                                      "threadlock.waited_s": time.monotonic() - self.start})


_UNTRACED = contextlib.nullcontext(Acquire(None))


def acquire(key: str, wait: float, owner: str,
            in_session: bool) -> contextlib.AbstractContextManager[Acquire]:
    tracer = _tracer()
    if tracer is None:
        return _UNTRACED
    return _acquire(tracer, key, wait, owner, in_session)


@contextlib.contextmanager
def _acquire(tracer: Any, key: str, wait: float, owner: str,
             in_session: bool) -> Iterator[Acquire]:
    with tracer.start_as_current_span("threadlock.acquire", record_exception=False,
                                       set_status_on_exception=False, attributes={
            "threadlock.key": key, "threadlock.wait_s": float(wait),
            "threadlock.owner": owner, "threadlock.in_session": in_session}) as span:
        got = Acquire(span)
        try:
            yield got
        except BaseException as exc:
            outcome = "busy" if type(exc).__name__ == "ThreadBusy" else type(exc).__name__
            span.set_attributes({"threadlock.outcome": outcome,
                                 "threadlock.waited_s": time.monotonic() - got.start})
            span.set_status(trace.Status(trace.StatusCode.ERROR, outcome))
            raise


class Hold:
    """The span of a held lock: started at the grant, ended once, at the release or loss."""

    def __init__(self, key: str, fencing_token: int) -> None:
        self.span: Any = None
        self.metadata: Metadata | None = None  # its context, for the renewals
        self._ended = threading.Lock()  # taken for good by whoever ends the span
        tracer = _tracer()
        if tracer is not None:
            self.span = tracer.start_span("threadlock.hold", attributes={
                "threadlock.key": key, "threadlock.fencing_token": int(fencing_token)})
            carrier: dict[str, str] = {}
            _W3C.inject(carrier, trace.set_span_in_context(self.span))
            self.metadata = tuple(carrier.items()) or None

    def current(self) -> contextlib.AbstractContextManager[None]:
        """Make the hold span current (the block under the lock)."""
        return contextlib.nullcontext() if self.span is None else self._current()

    @contextlib.contextmanager
    def _current(self) -> Iterator[None]:
        token = _context.attach(trace.set_span_in_context(self.span))
        try:
            yield
        finally:
            _context.detach(token)

    def renewal_failed(self, method: str, code: Any) -> None:
        if self.span is not None:
            self.span.add_event("threadlock.renewal_failed", {
                "rpc.method": method, "rpc.grpc.status_code": code.value[0],
                "threadlock.code": code.name})

    def lost(self, reason: str) -> None:
        if self.span is not None and self._ended.acquire(blocking=False):
            self.span.add_event("threadlock.lease_lost", {"threadlock.reason": reason})
            self.span.set_attribute("threadlock.outcome", "lost")
            self.span.set_status(trace.Status(trace.StatusCode.ERROR, "lease lost"))
            self.span.end()

    def released(self) -> None:
        if self.span is not None and self._ended.acquire(blocking=False):
            self.span.set_attribute("threadlock.outcome", "released")
            self.span.end()


NO_HOLD = Hold.__new__(Hold)  # a session's renewals: nothing to report them on
NO_HOLD.span = NO_HOLD.metadata = None
NO_HOLD._ended = threading.Lock()


def release(key: str) -> contextlib.AbstractContextManager[Any]:
    tracer = _tracer()
    if tracer is None:
        return contextlib.nullcontext()
    span: contextlib.AbstractContextManager[Any] = tracer.start_as_current_span(
        "threadlock.release", attributes={"threadlock.key": key})
    return span


def openai_call(op: object) -> contextlib.AbstractContextManager[Any]:
    """A span for the guard's operation `op` if it is an OpenAI call (it has a `path`, e.g.
    "responses.create"); its arguments are not recorded (they are the user's content)."""
    path = getattr(op, "path", None)
    tracer = _tracer()
    if tracer is None or not isinstance(path, str):
        return contextlib.nullcontext()
    span: contextlib.AbstractContextManager[Any] = tracer.start_as_current_span(
        f"openai {path}", kind=trace.SpanKind.CLIENT,
        attributes={"gen_ai.system": "openai", "gen_ai.operation.name": path})
    return span
