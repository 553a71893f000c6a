"""A thin asyncio client for the parts of etcd's v3 API threadlock uses, over grpcio stubs
generated from a wire-compatible subset of etcd's protos (protos/threadlock/internal/etcd).

Why not a library: python-etcd3 is synchronous and no longer imports with protobuf 5+;
etcd3aio retries a transaction on deadline (a lock grant must never be replayed blindly) and
aetcd has no TLS. This layer is small, async, and only depends on grpcio and protobuf.

Every call takes an absolute deadline (time.monotonic()) and fails with `Unavailable` when
etcd does not answer before it (capped at `op_timeout` per call). Unary calls are never
retried here: a Txn whose answer was lost may have been applied, so the caller decides.
With several endpoints, a failed call moves the client to the next one. Every failed request
(a lease that is gone is an answer, not a failure) is reported to `on_error(op, code)`, for
the threadlock_etcd_errors_total metric. With a `tracer` (--otel), each request made inside a
traced call is a span of its own (threadlock.tracing.etcd_span).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
import grpc.aio

from threadlock.errors import FailedPrecondition, LockError, StoreFull, Unavailable
from threadlock.internal.etcd import rpc_pb2, rpc_pb2_grpc
from threadlock.store import LeaseGone

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

T = TypeVar("T")
ErrorHook = Callable[[str, grpc.StatusCode], None]

# Streams (watch, lease keepalive) ask for a member with a leader, as etcd's own client does
# (WithRequireLeader): a member cut off from quorum then ends the stream instead of keeping it
# open and silent, and the client fails over to another member.
LEADER_REQUIRED = (("hasleader", "true"),)

_TRANSIENT = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
              grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED,
              grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN}


@dataclass(frozen=True)
class Tls:
    """PEM bytes: a CA to verify etcd, and a client certificate and key for mutual TLS."""

    ca: bytes | None
    cert: bytes | None
    key: bytes | None

    @classmethod
    def from_files(cls, ca: str | None, cert: str | None, key: str | None) -> Tls:
        def read(path: str | None) -> bytes | None:
            return Path(path).read_bytes() if path else None
        return cls(read(ca), read(cert), read(key))


class Stubs:
    """The etcd services on one channel."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.channel = channel
        self.kv = rpc_pb2_grpc.KVStub(channel)
        self.lease = rpc_pb2_grpc.LeaseStub(channel)
        self.watch = rpc_pb2_grpc.WatchStub(channel)
        self.maintenance = rpc_pb2_grpc.MaintenanceStub(channel)


def translate(exc: grpc.aio.AioRpcError, what: str) -> LockError:
    """etcd's gRPC errors as coordinator errors."""
    details = exc.details() or ""
    if exc.code() == grpc.StatusCode.NOT_FOUND and "lease not found" in details:
        return LeaseGone(f"{what}: lease not found")
    if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "space exceeded" in details:
        # The NOSPACE alarm, not overload: it lasts until an operator acts (docs/deploy.md).
        return StoreFull(f"etcd is out of space during {what} (NOSPACE alarm: {details}); "
                         "an operator must compact, defragment and disarm it")
    if exc.code() in _TRANSIENT:
        return Unavailable(f"etcd unavailable during {what}: {exc.code().name}: {details}")
    return LockError(f"etcd refused {what}: {exc.code().name}: {details}")


def _ignore(op: str, code: grpc.StatusCode) -> None:
    pass


class EtcdClient:
    def __init__(self, endpoints: list[str], tls: Tls | None, op_timeout: float,
                 on_error: ErrorHook = _ignore) -> None:
        if not endpoints:
            raise ValueError("etcd endpoints: at least one is required")
        creds = (grpc.ssl_channel_credentials(tls.ca, tls.key, tls.cert) if tls else None)
        options = [("grpc.keepalive_time_ms", 10_000), ("grpc.keepalive_timeout_ms", 5_000),
                   ("grpc.keepalive_permit_without_calls", 1),
                   ("grpc.max_receive_message_length", 64 * 1024 * 1024)]
        self.endpoints = [e.removeprefix("http://").removeprefix("https://") for e in endpoints]
        self._stubs = [
            Stubs(grpc.aio.secure_channel(e, creds, options) if creds
                  else grpc.aio.insecure_channel(e, options))
            for e in self.endpoints]
        self._current = 0
        self.op_timeout = op_timeout
        self.on_error = on_error
        # Set when the etcd cluster's version is refused (threadlock.etcd.versions): every
        # call then fails with this message instead of reaching that etcd.
        self.refused: str | None = None
        self.tracer: Tracer | None = None  # set by the server with --otel

    @property
    def stubs(self) -> Stubs:
        return self._stubs[self._current]

    def failover(self) -> None:
        self._current = (self._current + 1) % len(self._stubs)

    def timeout(self, deadline: float, what: str) -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Unavailable(f"deadline passed before etcd answered {what}")
        return min(left, self.op_timeout)

    async def call(self, pick: Callable[[Stubs], Any], request: Any, deadline: float,
                   what: str) -> Any:
        """One unary call: `pick` chooses the method, e.g. `lambda s: s.kv.Txn`."""
        if self.refused is not None:
            raise FailedPrecondition(self.refused)
        if self.tracer is not None:  # traces off: this test is all they cost
            from threadlock.tracing import etcd_span
            with etcd_span(self.tracer, request, what, self.endpoints[self._current]) as span:
                response = await self._call(pick, request, deadline, what)
                span.answered(response)
                return response
        return await self._call(pick, request, deadline, what)

    async def _call(self, pick: Callable[[Stubs], Any], request: Any, deadline: float,
                    what: str) -> Any:
        timeout = self.timeout(deadline, what)
        try:
            return await pick(self.stubs)(request, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            err = translate(exc, what)
            if not isinstance(err, LeaseGone):
                self.on_error(what, exc.code())
            if isinstance(err, Unavailable):
                self.failover()
            raise err from exc

    async def member_versions(self, deadline: float) -> list[tuple[str, str]]:
        """(endpoint, etcd version) of every endpoint that answers Maintenance.Status before
        `deadline` (each is asked, not only the current one); the others are left out."""
        async def one(endpoint: str, stubs: Stubs) -> tuple[str, str] | None:
            try:
                resp = await stubs.maintenance.Status(
                    rpc_pb2.StatusRequest(), timeout=self.timeout(deadline, "status"))
            except (grpc.aio.AioRpcError, Unavailable):
                return None
            return endpoint, resp.version
        pairs = zip(self.endpoints, self._stubs, strict=True)
        answers = await asyncio.gather(*(one(e, s) for e, s in pairs))
        return [a for a in answers if a is not None]

    async def close(self) -> None:
        for s in self._stubs:
            await s.channel.close()
