"""Prometheus metrics of one coordinator replica (docs/metrics.md lists and explains each).

The lock code reports through a `Recorder`: the base class does nothing (metrics off, the
default), `Metrics` records into a registry of its own, never prometheus_client's global one,
so that several servers in one process (tests) keep separate counts. Example:

    metrics = Metrics()
    endpoint = MetricsEndpoint.start("127.0.0.1:0", metrics)  # GET /metrics on endpoint.port
    metrics.acquire_done("granted", waited=0.2)
    await endpoint.stop()

Store-wide gauges (locks held, waiters) come from `refresh_store_counts`, a background loop
that asks the store to count every `interval` seconds: every replica reports the same totals.
Failure modes: `MetricsEndpoint.start` raises OSError if the address cannot be bound; a count
that fails keeps the previous values (the etcd error is counted) and is retried next round;
threadlock_store_count_timestamp_seconds tells how old the values are (0: never counted).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import threading
import time
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

import grpc
import grpc.aio
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from threadlock.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound, Unavailable
from threadlock.store import Store

log = logging.getLogger("threadlock.metrics")

# Acquire outcomes (label `outcome` of threadlock_acquire_total).
OUTCOMES = ("granted", "busy", "invalid", "aborted", "unavailable", "cancelled", "error")

# Seconds. Waits are bounded by --max-wait (600 s by default); holds by the client.
WAIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
HOLD_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)
RPC_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
               300, 600)


def version() -> str:
    try:
        return importlib.metadata.version("threadlock")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        return "unknown"


def acquire_outcome(exc: BaseException) -> str:
    """The `outcome` label of an Acquire call that ended with `exc` instead of an answer."""
    if isinstance(exc, InvalidArgument | FailedPrecondition | NotFound):
        return "invalid"  # the request cannot be honoured as asked (bad field, ended session)
    if isinstance(exc, Aborted):
        return "aborted"  # its queued lease expired, or a retry took it over
    if isinstance(exc, Unavailable):
        return "unavailable"
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"  # the caller went away or its deadline passed
    return "error"


class Recorder:
    """Where the lock code reports events. This base records nothing (metrics off)."""

    def acquire_done(self, outcome: str, waited: float | None = None) -> None:
        """An Acquire call ended with `outcome`; `waited`: seconds from arrival to grant."""

    def released(self, held_for: float) -> None:
        """A Release through this replica ended a lock held for `held_for` seconds."""

    def lease_expired(self) -> None:
        """A KeepAlive was refused because its lease (or session) is gone."""

    def etcd_error(self, op: str, code: grpc.StatusCode) -> None:
        """An etcd request `op` failed with `code`."""

    def queue_entered(self) -> None:
        """An Acquire call on this replica started waiting in a queue."""

    def queue_left(self) -> None:
        """... and stopped waiting (granted, gave up, or failed)."""

    def rpc_done(self, method: str, code: grpc.StatusCode, seconds: float) -> None:
        """A LockService call `method` (e.g. "Acquire") ended with `code`."""


class Metrics(Recorder):
    """The threadlock_* metrics, in `self.registry`."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.acquires = Counter("threadlock_acquire", "Acquire calls by outcome",
                                ["outcome"], registry=r)
        for outcome in OUTCOMES:  # every series exists from the start: rate() sees the first
            self.acquires.labels(outcome)
        self.wait = Histogram("threadlock_acquire_wait_seconds",
                              "Time from an Acquire's arrival to its grant (granted only)",
                              buckets=WAIT_BUCKETS, registry=r)
        self.hold = Histogram("threadlock_lock_hold_seconds",
                              "Time from a lock's grant to its Release (Releases through this "
                              "replica)", buckets=HOLD_BUCKETS, registry=r)
        self.locks_held = Gauge("threadlock_locks_held",
                                "Keys with a holder, in the whole store (all replicas)",
                                registry=r)
        self.lock_waiters = Gauge("threadlock_lock_waiters",
                                  "Queued contenders behind holders, in the whole store",
                                  registry=r)
        self.counted_at = Gauge("threadlock_store_count_timestamp_seconds",
                                "Unix time of the last successful count of the two gauges "
                                "above; 0 until the first one", registry=r)
        self.waiting = Gauge("threadlock_acquire_waiting",
                             "Acquire calls waiting in a queue on this replica now", registry=r)
        self.expirations = Counter("threadlock_lease_expirations",
                                   "KeepAlive calls refused because the lease or session was "
                                   "gone (expired, released, or ended)", registry=r)
        self.etcd_errors = Counter("threadlock_etcd_errors", "Failed etcd requests",
                                   ["op", "code"], registry=r)
        self.rpcs = Histogram("threadlock_rpc_duration_seconds",
                              "LockService calls by method and gRPC status code",
                              ["method", "code"], buckets=RPC_BUCKETS, registry=r)
        Gauge("threadlock_build_info", "Always 1; the label is the running version",
              ["version"], registry=r).labels(version()).set(1)

    def acquire_done(self, outcome: str, waited: float | None = None) -> None:
        self.acquires.labels(outcome).inc()
        if waited is not None:
            self.wait.observe(waited)

    def released(self, held_for: float) -> None:
        self.hold.observe(max(held_for, 0.0))

    def lease_expired(self) -> None:
        self.expirations.inc()

    def etcd_error(self, op: str, code: grpc.StatusCode) -> None:
        self.etcd_errors.labels(op, code.name).inc()

    def queue_entered(self) -> None:
        self.waiting.inc()

    def queue_left(self) -> None:
        self.waiting.dec()

    def rpc_done(self, method: str, code: grpc.StatusCode, seconds: float) -> None:
        self.rpcs.labels(method, code.name).observe(seconds)

    def store_counts(self, held: int, waiters: int) -> None:
        self.locks_held.set(held)
        self.lock_waiters.set(waiters)
        self.counted_at.set(time.time())


async def refresh_store_counts(store: Store, metrics: Metrics, interval: float,
                               timeout: float, counted: asyncio.Event | None = None) -> None:
    """Every `interval` seconds (the first at once), set the store-wide gauges from
    `store.count`; sets `counted` after each successful count. Runs until cancelled.

    One deadline, `timeout` seconds, covers a whole count (every page of it). A count that
    misses it fails like any other: the gauges keep their previous values, their timestamp
    (threadlock_store_count_timestamp_seconds) does not move, and the next round tries anew."""
    while True:
        try:
            held, waiters = await store.count(time.monotonic() + timeout)
        except Exception as exc:  # keep the last values; etcd errors are counted already
            log.debug("counting locks failed: %s", exc)
        else:
            metrics.store_counts(held, waiters)
            if counted is not None:
                counted.set()
        await asyncio.sleep(interval)


def split_address(address: str) -> tuple[str, int]:
    """("host", port) of "host:port" or "[v6]:port" (checked by config.validate)."""
    host, _, port = address.rpartition(":")
    return host.removeprefix("[").removesuffix("]"), int(port)


@dataclass
class MetricsEndpoint:
    """prometheus_client's own HTTP server (a thread) serving `/metrics` of one registry."""

    httpd: WSGIServer
    thread: threading.Thread

    @classmethod
    def start(cls, address: str, metrics: Metrics) -> MetricsEndpoint:
        host, port = split_address(address)
        httpd, thread = start_http_server(port, host, registry=metrics.registry)
        return cls(httpd, thread)

    @property
    def port(self) -> int:
        return int(self.httpd.server_port)

    async def stop(self) -> None:
        # shutdown() blocks until the serving loop notices (up to its 0.5 s poll): not on
        # the event loop's thread.
        await asyncio.to_thread(self.httpd.shutdown)
        self.httpd.server_close()
        await asyncio.to_thread(self.thread.join, 5.0)


_CODES = {c.value[0]: c for c in grpc.StatusCode}


def call_code(context: grpc.aio.ServicerContext[object, object],
              exc: BaseException | None) -> grpc.StatusCode:
    """The status code a LockService call ended with, for the `code` label: the one it
    aborted with (context.abort), else OK, CANCELLED/DEADLINE_EXCEEDED, or UNKNOWN."""
    if isinstance(exc, asyncio.CancelledError):
        left = context.time_remaining()
        return (grpc.StatusCode.DEADLINE_EXCEEDED if left is not None and left <= 0
                else grpc.StatusCode.CANCELLED)
    code: object = context.code()
    if isinstance(code, grpc.StatusCode):
        return code
    if isinstance(code, int) and code in _CODES:
        return _CODES[code]
    return grpc.StatusCode.OK if exc is None else grpc.StatusCode.UNKNOWN
