"""OpenTelemetry spans of the SDK, through the OpenTelemetry API (`opentelemetry-api`, the
`threadlock-client[otel]` extra) when it is installed; the application's own TracerProvider
decides whether they are recorded and where they go. Without the API every function here is a
no-op: the SDK needs only grpcio and protobuf.

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
    _TRACER: Any = trace.get_tracer("threadlock_client")
    _W3C: Any = TraceContextTextMapPropagator()


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


@contextlib.contextmanager
def rpc(method: str, address: str) -> Iterator[Rpc]:
    """The CLIENT span of one call of `method` to `address`, current while it runs."""
    if trace is None:
        yield NO_RPC
        return
    host, _, port = address.rpartition(":")
    with _TRACER.start_as_current_span(
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


@contextlib.contextmanager
def acquire(key: str, wait: float, owner: str, in_session: bool) -> Iterator[Acquire]:
    if trace is None:
        yield Acquire(None)
        return
    with _TRACER.start_as_current_span("threadlock.acquire", record_exception=False,
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
        if trace is not None:
            self.span = _TRACER.start_span("threadlock.hold", attributes={
                "threadlock.key": key, "threadlock.fencing_token": int(fencing_token)})
            carrier: dict[str, str] = {}
            _W3C.inject(carrier, trace.set_span_in_context(self.span))
            self.metadata = tuple(carrier.items()) or None

    @contextlib.contextmanager
    def current(self) -> Iterator[None]:
        """Make the hold span current (the block under the lock)."""
        if self.span is None:
            yield
            return
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
    if trace is None:
        return contextlib.nullcontext()
    span: contextlib.AbstractContextManager[Any] = _TRACER.start_as_current_span(
        "threadlock.release", attributes={"threadlock.key": key})
    return span


def openai_call(op: object) -> contextlib.AbstractContextManager[Any]:
    """A span for the guard's operation `op` if it is an OpenAI call (it has a `path`, e.g.
    "responses.create"); its arguments are not recorded (they are the user's content)."""
    path = getattr(op, "path", None)
    if trace is None or not isinstance(path, str):
        return contextlib.nullcontext()
    span: contextlib.AbstractContextManager[Any] = _TRACER.start_as_current_span(
        f"openai {path}", kind=trace.SpanKind.CLIENT,
        attributes={"gen_ai.system": "openai", "gen_ai.operation.name": path})
    return span
