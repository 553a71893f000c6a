"""OpenTelemetry traces of the coordinator: off by default, on with --otel / THREADLOCK_OTEL=1.

On, each LockService call is one SERVER span, on both faces (the gRPC port: TracingWrapper in
interceptors.py; the HTTP face: http_face.py), continuing the caller's W3C trace context
(`traceparent`/`tracestate` from gRPC metadata or HTTP headers). Every etcd request the call
makes is a CLIENT span under it (etcd/client.py), so one trace runs SDK -> coordinator -> etcd.
etcd requests made outside a traced call (health checks, metrics counts) get no span: they
would be a root trace a second, for nobody.

Export: OTLP over gRPC, configured by the standard variables the OpenTelemetry SDK reads
(OTEL_EXPORTER_OTLP_ENDPOINT / _TRACES_ENDPOINT, _HEADERS, _INSECURE, _CERTIFICATE, ...),
plus OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES for the resource and OTEL_TRACES_SAMPLER /
_ARG for sampling (default: parentbased_always_on, so a caller's sampling decision holds).
OTEL_TRACES_EXPORTER may be otlp (default), console or none.

Off, nothing of OpenTelemetry is imported (it is the optional extra `threadlock[otel]`): no
interceptor is installed, the HTTP face and the etcd client test one attribute for None.

Secrets never go into spans: no lease token, session id, credential or page token; the
request_id (a retry of it is handed the lease, token included) only as a digest; the key is
the one the caller sent, without its tenant's prefix.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import grpc

from threadlock.server_tls import StartupError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

SCOPE = "threadlock"
SERVICE = "threadlock.v1.LockService"
EXPORTERS = ("otlp", "console", "none")
# The standard variables the Helm chart sets with tracing.enabled (the SDK reads them).
OTEL_ENV_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
                 "OTEL_SERVICE_NAME")


def digest(request_id: str) -> str:
    """A request_id as it may appear in a span: enough to tell retries of one request apart
    from another, useless for replaying it."""
    return hashlib.sha256(request_id.encode()).hexdigest()[:16]


class Tracing:
    """The coordinator's tracer (from `provider`); `shutdown()` flushes and stops the provider
    when this object made it."""

    def __init__(self, provider: TracerProvider, owned: bool = False) -> None:
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self.provider = provider
        self.tracer: Tracer = provider.get_tracer(SCOPE)
        self._owned = owned
        self._w3c = TraceContextTextMapPropagator()

    @contextlib.contextmanager
    def rpc(self, method: str, request: Any, carrier: Mapping[str, str],
            face: str) -> Iterator[RpcSpan]:
        """The SERVER span of one call of `method`, current for the call (so the etcd spans
        nest in it), continuing the trace context found in `carrier` (metadata or headers,
        lower-case names)."""
        from opentelemetry.trace import SpanKind

        parent = self._w3c.extract(carrier)
        attributes: dict[str, Any] = {"rpc.system": "grpc" if face == "grpc" else "connect_rpc",
                                      "rpc.service": SERVICE, "rpc.method": method,
                                      "threadlock.face": face}
        attributes.update(request_attributes(method, request))
        with self.tracer.start_as_current_span(
                f"{SERVICE}/{method}", context=parent, kind=SpanKind.SERVER,
                attributes=attributes, record_exception=False,
                set_status_on_exception=False) as span:
            yield RpcSpan(span)

    def shutdown(self) -> None:
        if self._owned:
            self.provider.shutdown()  # flushes the batch processor (bounded by its timeout)


class RpcSpan:
    """What a face reports on its call's span: the answer, or the status it failed with."""

    def __init__(self, span: Span) -> None:
        self.span = span
        self.start = time.monotonic()

    def answered(self, response: Any) -> None:
        from opentelemetry.trace import StatusCode

        self.span.set_attribute("rpc.grpc.status_code", grpc.StatusCode.OK.value[0])
        result = response.WhichOneof("result") if hasattr(response, "lease") else None
        if result == "lease":
            self.span.set_attributes({
                "threadlock.outcome": "granted",
                "threadlock.fencing_token": int(response.lease.fencing_token),
                "threadlock.waited_s": time.monotonic() - self.start})
        elif result == "busy":
            self.span.set_attributes({
                "threadlock.outcome": "busy", "threadlock.waiters": int(response.busy.waiters),
                "threadlock.waited_s": time.monotonic() - self.start})
        elif hasattr(response, "released"):
            self.span.set_attribute("threadlock.released", bool(response.released))
        self.span.set_status(StatusCode.OK)

    def failed(self, code: grpc.StatusCode, message: str = "") -> None:
        from opentelemetry.trace import Status, StatusCode

        self.span.set_attributes({"rpc.grpc.status_code": code.value[0],
                                  "threadlock.outcome": code.name.lower()})
        # Status text: the code's name only. Error messages may quote the caller's input.
        self.span.set_status(Status(StatusCode.ERROR, code.name))


_ETCD_SERVICES = {"Range": "KV", "Put": "KV", "DeleteRange": "KV", "Txn": "KV",
                  "Compact": "KV", "LeaseGrant": "Lease", "LeaseRevoke": "Lease",
                  "LeaseTimeToLive": "Lease", "LeaseLeases": "Lease"}


class EtcdSpan:
    """The span of one etcd request (None inside: the request is not traced)."""

    def __init__(self, span: Span | None) -> None:
        self.span = span

    def answered(self, response: Any) -> None:
        if self.span is not None and hasattr(response, "succeeded"):
            self.span.set_attribute("etcd.txn.succeeded", bool(response.succeeded))


@contextlib.contextmanager
def etcd_span(tracer: Tracer, request: Any, what: str, endpoint: str) -> Iterator[EtcdSpan]:
    """A CLIENT span for one etcd request, if it is made inside a traced call; else nothing
    (see the module's docstring). The method comes from the request's type: TxnRequest ->
    KV/Txn."""
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind, Status, StatusCode

    if not trace.get_current_span().is_recording():
        yield EtcdSpan(None)
        return
    method = type(request).__name__.removesuffix("Request")
    service = f"etcdserverpb.{_ETCD_SERVICES.get(method, 'Maintenance')}"
    host, _, port = endpoint.rpartition(":")
    with tracer.start_as_current_span(
            f"{service}/{method}", kind=SpanKind.CLIENT, record_exception=False,
            set_status_on_exception=False, attributes={
                "rpc.system": "grpc", "rpc.service": service, "rpc.method": method,
                "db.system.name": "etcd", "threadlock.etcd.op": what,
                "server.address": host, "server.port": int(port) if port.isdigit() else 0,
            }) as span:
        try:
            yield EtcdSpan(span)
        except BaseException as exc:
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise


def request_attributes(method: str, request: Any) -> dict[str, Any]:
    """The span attributes of a request: what is not secret (see the module's docstring)."""
    out: dict[str, Any] = {}
    key = getattr(request, "key", "")
    if isinstance(key, str) and key:
        out["threadlock.key"] = key
    if method == "Acquire":
        out["threadlock.owner"] = request.owner
        out["threadlock.wait_s"] = _seconds(request.wait)
        out["threadlock.ttl_s"] = _seconds(request.ttl)
        out["threadlock.in_session"] = bool(request.session_id)
        if request.request_id:
            out["threadlock.request_id_digest"] = digest(request.request_id)
    elif method == "OpenSession":
        out["threadlock.owner"] = request.owner
        out["threadlock.ttl_s"] = _seconds(request.ttl)
    elif method == "Status" and request.WhichOneof("selector") == "prefix":
        out["threadlock.prefix"] = request.prefix
    elif method == "KeepAlive":
        out["threadlock.target"] = request.WhichOneof("target") or ""
    return out


def _seconds(d: Any) -> float:
    return float(d.seconds) + float(d.nanos) / 1e9


def carrier_of(pairs: Iterable[tuple[str, Any]] | None) -> dict[str, str]:
    """gRPC invocation metadata as a propagation carrier (only the W3C headers are read)."""
    return {k: v for k, v in (pairs or ()) if k in ("traceparent", "tracestate")
            and isinstance(v, str)}


def from_config(otel: bool, environ: Mapping[str, str] | None = None) -> Tracing | None:
    """The coordinator's Tracing for `--otel` (None when off): a provider with the resource,
    sampler and exporter the standard OTEL_* variables name. Raises StartupError naming the
    option or variable at fault."""
    if not otel:
        return None
    env = os.environ if environ is None else environ
    try:
        from opentelemetry.sdk.resources import OTELResourceDetector, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
            SpanExporter,
        )
    except ImportError:
        raise StartupError("--otel: the OpenTelemetry SDK is not installed; install "
                           "threadlock with its extra: pip install 'threadlock[otel]'") from None
    kind = env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if kind not in EXPORTERS:
        raise StartupError(f"OTEL_TRACES_EXPORTER: must be one of {', '.join(EXPORTERS)}, "
                           f"got {kind!r}")
    protocol = (env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "grpc").strip()
    if kind == "otlp" and protocol != "grpc":
        raise StartupError(f"OTEL_EXPORTER_OTLP_PROTOCOL: threadlock exports OTLP over gRPC "
                           f"only, got {protocol!r}")
    from importlib.metadata import PackageNotFoundError, version
    try:
        release = version("threadlock")
    except PackageNotFoundError:
        release = "unknown"
    # Defaults that OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override (create() alone
    # would let its arguments win over the environment).
    resource = Resource.create({"service.name": "threadlock", "service.version": release})
    provider = TracerProvider(resource=resource.merge(OTELResourceDetector().detect()))
    exporter: SpanExporter | None = None
    if kind == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        exporter = OTLPSpanExporter()  # endpoint, headers, TLS: from the OTEL_* variables
    elif kind == "console":
        exporter = ConsoleSpanExporter()
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(provider, owned=True)
