"""The coordinator process: store + LockManager + gRPC server, health and shutdown.

`Server` wires the pieces together and owns their lifetime; `serve` runs one until SIGTERM or
SIGINT. Besides threadlock.v1.LockService the server exposes the standard gRPC health service
(grpc.health.v1, for Kubernetes gRPC probes and load balancers) and server reflection (so
grpcurl/grpcui can discover the API).

Health has two kinds of service name. "" and the LockService name (HEALTH_SERVICES) follow the
store's reachability: readiness, so that balancers skip a replica that cannot reach etcd.
LIVENESS_SERVICE ("threadlock.liveness") is SERVING from start-up until shutdown begins,
whatever etcd does: liveness and startup probes ask for it, so that an etcd outage does not
make the kubelet restart every replica (restarts cannot cure etcd, and their back-off would
delay recovery once it is back).

With `config.tls` the port speaks only TLS (mutual TLS if a client CA is given), all services
alike. `config.health_listen` adds a plaintext port with the health service alone (Kubernetes' gRPC
probes cannot speak TLS); `config.metrics_listen` serves Prometheus metrics (metrics.py);
`config.http_listen` serves the same LockService over the Connect protocol (http_face.py), with
the same TLS, and stops with the gRPC port.

Shutdown is graceful: health turns NOT_SERVING first so that balancers stop sending new calls,
then in-flight calls get `shutdown_grace` seconds to finish (a queued Acquire that is cut off
leaves its queue, so nothing is left behind), then the store is closed. All of it takes at most
`shutdown_grace` + DRAIN_TIMEOUT seconds (plus closing channels), so a pod's
terminationGracePeriodSeconds of shutdown_grace + 10 is never reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from threadlock.auth.faces import AuthInterceptor
from threadlock.auth.policy import AuthFileError
from threadlock.auth.reload import AuthReloader
from threadlock.auth.rpcs import GuardedRpcs
from threadlock.config import Config
from threadlock.errors import Unavailable
from threadlock.http_face import HttpFace, start_face
from threadlock.interceptors import CallTracker, LenientStreams, TracingWrapper
from threadlock.locks import LockManager
from threadlock.metrics import (
    Metrics,
    MetricsEndpoint,
    Recorder,
    refresh_store_counts,
)
from threadlock.server_tls import StartupError, server_credentials
from threadlock.service import LockRpcs, LockServicer
from threadlock.status_page import StatusPage
from threadlock.store import Store
from threadlock.stream_face import StreamFace
from threadlock.tracing import Tracing, from_config
from threadlock.v1 import lock_pb2, lock_pb2_grpc
from threadlock.watch import EventHub
from threadlock.watch.wiring import hub_for

log = logging.getLogger("threadlock.server")

__all__ = ["HEALTH_SERVICES", "LIVENESS_SERVICE", "Server", "StartupError", "serve",
           "server_credentials"]

LOCK_SERVICE = lock_pb2.DESCRIPTOR.services_by_name["LockService"].full_name
HEALTH_SERVICES = ("", LOCK_SERVICE)  # "" is the whole server, as probes ask by default
# Health service name that only says "this process runs and is not shutting down".
LIVENESS_SERVICE = "threadlock.liveness"

# Keepalive, so that the server notices dead clients (whose queued Acquires must leave the
# queue) within ~30 s, and accepts client pings as often as every 10 s without answering
# GOAWAY "too_many_pings". Names are gRPC core channel args (grpc/doc/keepalive.md).
SERVER_OPTIONS: list[tuple[str, int]] = [
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    # GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS (server side).
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    # gRPC sets SO_REUSEPORT by default, so a second server on a busy port would start and
    # silently take half the connections: with the memory backend, two separate lock tables.
    ("grpc.so_reuseport", 0),
]


# After the grace period, calls still running are cancelled; a queued Acquire then leaves its
# queue, which is a store write. This long is allowed, in all, for such cleanups (and others
# still in flight) before the store closes; what is left ends with its lease.
DRAIN_TIMEOUT = 5.0

class Server:
    """One coordinator: `await start()`, later `await stop()`; `await wait()` until stopped."""

    def __init__(self, config: Config, tracing: Tracing | None = None) -> None:
        self.config = config
        # Traces (--otel): built in start() from config.otel and the OTEL_* variables, unless
        # given (tests pass one with an in-memory exporter).
        self.tracing = tracing
        self.port = 0
        self.store: Store | None = None
        self.manager: LockManager | None = None
        # Lock events for Watch (and the admin port's status page): threadlock.watch.
        self.hub: EventHub | None = None
        self._server: grpc.aio.Server | None = None
        self._health_server: grpc.aio.Server | None = None
        self.health_port = 0
        self._http: HttpFace | None = None
        self.http_port = 0
        # Recorded only when served; Recorder() records nothing.
        self.metrics = Metrics() if config.metrics_listen else None
        self.recorder: Recorder = self.metrics or Recorder()
        self._endpoint: MetricsEndpoint | None = None
        self._page: StatusPage | None = None  # the metrics port with --status-page
        self.metrics_port = 0
        self._counter: asyncio.Task[None] | None = None
        self.counted = asyncio.Event()  # set after each count of the store's locks
        self._calls = CallTracker(self.recorder, LOCK_SERVICE)
        self.auth: AuthReloader | None = None  # set in start() with config.auth_file
        self._health = health.aio.HealthServicer()
        self._serving: bool | None = None  # last status set, None before the first check
        self._monitor: asyncio.Task[None] | None = None
        self._stopping = False
        self._stopped = asyncio.Event()

    @property
    def backend(self) -> str:
        return self.config.backend

    async def start(self) -> int:
        """Connect the store, start serving, and return the bound port."""
        cfg = self.config
        # Before the store: a bad certificate is an operator error to report at once.
        credentials = server_credentials(cfg.tls) if cfg.tls is not None else None
        interceptors: list[grpc.aio.ServerInterceptor] = [self._calls,
                                                           LenientStreams(LOCK_SERVICE)]
        if self.tracing is None:
            self.tracing = from_config(cfg.otel)
        if self.tracing is not None:
            interceptors.append(TracingWrapper(self.tracing, LOCK_SERVICE))
        if cfg.auth_file:  # also before the store: a bad auth file fails at once
            try:
                self.auth = AuthReloader(cfg.auth_file)
            except AuthFileError as exc:
                raise StartupError(f"--auth-file: {exc}") from None
            # Inside the call tracker, so that refused calls count in the metrics too.
            interceptors.append(AuthInterceptor(self.auth.authenticator, LOCK_SERVICE))
            if not self.auth.policy.session_secret and cfg.etcd_endpoints:
                log.warning("the auth file has no session_secret: session ids work only on "
                            "the replica that opened them; set one for more replicas")
        self.store = await self._open_store()
        server = grpc.aio.server(interceptors=interceptors, options=[
            *SERVER_OPTIONS, ("grpc.max_receive_message_length", cfg.max_message_bytes),
            ("grpc.max_concurrent_streams", cfg.max_streams)])
        try:
            self.manager = LockManager(self.store, cfg.limits(), self.recorder)
            self.hub = hub_for(self.store, max_watchers=cfg.max_watchers,
                               buffer=cfg.watch_buffer)
            rpcs = (LockRpcs(self.manager, cfg.max_waiters, self.hub) if self.auth is None else
                    GuardedRpcs(self.manager, self.auth.authenticator, cfg.max_waiters,
                                self.hub))
            stream = StreamFace(rpcs, self.recorder, self._calls.tasks,
                                self.auth.authenticator if self.auth else None,
                                cfg.max_stream_calls, lambda: self._stopping, self.tracing)
            lock_pb2_grpc.add_LockServiceServicer_to_server(LockServicer(rpcs, stream), server)
            health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
            reflection.enable_server_reflection(
                (LOCK_SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
            try:
                port = (server.add_insecure_port(cfg.listen) if credentials is None
                        else server.add_secure_port(cfg.listen, credentials))
            except RuntimeError:  # newer grpc raises; older ones returned 0
                port = 0
            if port == 0 and not cfg.listen.startswith("unix:"):
                raise StartupError(f"cannot listen on {cfg.listen}: address in use, or not "
                                   "an address of this host"
                                   + (", or TLS files gRPC refuses" if credentials else ""))
            # Know the store's state before the first call arrives, so probes are right at once.
            await self._health.set(LIVENESS_SERVICE, health_pb2.HealthCheckResponse.SERVING)
            await self._check_health()
            await server.start()
            await self._start_extras()
            await self._start_http(rpcs)
            if self.auth is not None:
                self.auth.start()
        except BaseException:
            await server.stop(None)
            await self._stop_extras()
            await self.store.close()
            raise
        self._server, self.port = server, port
        self._monitor = asyncio.create_task(self._monitor_health(), name="threadlock-health")
        if self.metrics is not None:
            self._counter = asyncio.create_task(refresh_store_counts(
                self.store, self.metrics, cfg.metrics_interval, cfg.etcd_timeout, self.counted),
                name="threadlock-metrics")
        return port

    async def _start_extras(self) -> None:
        """The plaintext health port and the metrics endpoint, if configured."""
        cfg = self.config
        if cfg.health_listen:
            server = grpc.aio.server(options=SERVER_OPTIONS)
            self._health_server = server
            health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
            try:
                port = server.add_insecure_port(cfg.health_listen)
            except RuntimeError:
                port = 0
            if port == 0:
                raise StartupError(f"--health-listen: cannot listen on {cfg.health_listen}: "
                                   "address in use, or not an address of this host")
            await server.start()
            self.health_port = port
        if self.metrics is not None:
            try:
                if cfg.status_page:  # then aiohttp serves /metrics and the page
                    assert self.manager is not None and self.hub is not None
                    self._page = await StatusPage.start_with_feed(
                        cfg.metrics_listen, self.metrics, self.hub, self.manager,
                        self.auth.authenticator if self.auth else None, cfg.etcd_timeout)
                    self.metrics_port = self._page.port
                else:
                    self._endpoint = MetricsEndpoint.start(cfg.metrics_listen, self.metrics)
                    self.metrics_port = self._endpoint.port
            except OSError as exc:
                raise StartupError(f"--metrics-listen: cannot listen on {cfg.metrics_listen}: "
                                   f"{exc.strerror or exc}") from None

    async def _start_http(self, rpcs: LockRpcs) -> None:
        """The Connect protocol (HTTP) port, if configured: same calls, same TLS, same auth."""
        if self.config.http_listen:
            self._http = await start_face(self.config, rpcs, self.recorder,
                                          self._calls.tasks,
                                          self.auth.authenticator if self.auth else None,
                                          self.tracing)
            self.http_port = self._http.port

    async def _stop_extras(self) -> None:
        if self._http is not None:
            await self._http.stop(0)
        if self._health_server is not None:
            await self._health_server.stop(None)
        if self._endpoint is not None:
            await self._endpoint.stop()
        if self._page is not None:
            await self._page.stop()

    async def _open_store(self) -> Store:
        cfg = self.config
        if not cfg.etcd_endpoints:
            from threadlock.memory import MemoryStore

            log.warning("using the embedded in-memory backend: locks live only in this process "
                        "and are lost when it exits; run ONE replica only (set "
                        "--etcd-endpoints / THREADLOCK_ETCD_ENDPOINTS for more)",
                        extra={"backend": "memory"})
            return MemoryStore()
        # Imported here so that the memory backend never needs the etcd client code.
        from threadlock.etcd.client import Tls
        from threadlock.etcd.store import EtcdStore

        log.info("using etcd", extra={"backend": "etcd", "endpoints": cfg.etcd_endpoints,
                                      "key_prefix": cfg.key_prefix,
                                      "tls": cfg.etcd_tls is not None})
        tls = None
        if cfg.etcd_tls is not None:
            tls = Tls.from_files(cfg.etcd_tls.ca_file, cfg.etcd_tls.cert_file,
                                 cfg.etcd_tls.key_file)
        store = await EtcdStore.connect(cfg.etcd_endpoints, cfg.key_prefix, tls,
                                        cfg.etcd_timeout, self.recorder.etcd_error)
        store.client.tracer = self.tracing.tracer if self.tracing is not None else None
        return store

    # Health -------------------------------------------------------------------------------
    async def _monitor_health(self) -> None:
        while True:
            await asyncio.sleep(self.config.health_interval)
            await self._check_health()

    async def _check_health(self) -> None:
        assert self.store is not None
        budget = min(self.config.health_interval, 2.0)
        problem = ""
        try:
            # The outer timeout is a safety net: ping promises to honour its deadline, but a
            # stuck health check would otherwise leave a stale SERVING in place.
            async with asyncio.timeout(budget + 1.0):
                await self.store.ping(time.monotonic() + budget)
        except Unavailable as exc:
            problem = str(exc) or "store unavailable"
        except TimeoutError:
            problem = f"store ping took longer than {budget + 1.0:g}s"
        except Exception as exc:  # a bug in a store must not kill the health monitor
            log.exception("store ping failed unexpectedly")
            problem = f"{type(exc).__name__}: {exc}"
        await self._set_serving(not problem, problem)

    async def _set_serving(self, serving: bool, problem: str = "") -> None:
        if self._stopping or serving == self._serving:
            return
        status = (health_pb2.HealthCheckResponse.SERVING if serving
                  else health_pb2.HealthCheckResponse.NOT_SERVING)
        for service in HEALTH_SERVICES:
            await self._health.set(service, status)
        # Log transitions only: a flapping or dead store must not flood the log every second.
        if serving:
            log.info("store reachable: health SERVING", extra={"backend": self.backend})
        else:
            log.warning("store unreachable: health NOT_SERVING",
                        extra={"backend": self.backend, "error": problem})
        self._serving = serving

    # Shutdown -----------------------------------------------------------------------------
    async def stop(self, grace: float | None = None) -> None:
        """Stop gracefully: NOT_SERVING, then up to `grace` seconds (None = config's
        shutdown_grace) for in-flight calls, then close the store. A second call while
        stopping shortens the grace period to its own (0 cancels in-flight calls now)."""
        if grace is None:
            grace = self.config.shutdown_grace
        if self._stopping:
            await self._stop_faces(grace)
            await self._stopped.wait()
            return
        self._stopping = True
        try:
            if self.auth is not None:
                await self.auth.stop()
            for task in (self._monitor, self._counter):  # neither may touch a closed store
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if self._page is not None:
                await self._page.stop_feed()
            # Before refusing calls: balancers watching health move new traffic elsewhere.
            # Every service name, LIVENESS_SERVICE included, turns NOT_SERVING for good.
            await self._health.enter_graceful_shutdown()
            if self.hub is not None:  # watchers end now (UNAVAILABLE): they resume elsewhere
                await self.hub.close()
            if self._server is not None:
                log.info("stopping: waiting up to %gs for in-flight calls", grace,
                         extra={"grace": grace})
            await self._stop_faces(grace)
            # One budget for the cut-off calls' cleanups and any other cleanups in flight.
            drained = time.monotonic() + DRAIN_TIMEOUT
            if self._calls.tasks:
                await asyncio.wait(set(self._calls.tasks), timeout=DRAIN_TIMEOUT)
            if self.manager is not None:
                await self.manager.close(max(drained - time.monotonic(), 0.0))
            if self.store is not None:
                await self.store.close()
            # Last: probes and scrapes see the shutdown through to its end.
            await self._stop_extras()
            if self.tracing is not None:  # flushes spans still batched (bounded)
                await asyncio.to_thread(self.tracing.shutdown)
            log.info("stopped")
        finally:
            self._stopped.set()

    async def _stop_faces(self, grace: float) -> None:
        """Stop the gRPC and the HTTP ports together, each giving its calls `grace` s."""
        steps = [face.stop(grace) for face in (self._server, self._http) if face is not None]
        await asyncio.gather(*steps)

    async def wait(self) -> None:
        """Return once the server has stopped (after `stop` finished closing everything)."""
        if self._server is not None:
            await self._server.wait_for_termination()
        await self._stopped.wait()


def _tls_mode(config: Config) -> str:
    """The TLS mode for the log: off, on, or mutual (clients must present a certificate)."""
    if config.tls is None:
        return "off"
    return "mutual" if config.tls.mutual else "on"


def _address(listen: str, port: int) -> str:
    if listen.startswith("unix:"):
        return listen
    host = listen.rpartition(":")[0]
    return f"{host}:{port}"


async def serve(config: Config) -> None:
    """Run a coordinator until SIGTERM/SIGINT, then stop gracefully. A second signal during
    the grace period stops at once."""
    server = Server(config)
    port = await server.start()
    loop = asyncio.get_running_loop()
    stopping: set[asyncio.Task[None]] = set()  # strong refs: the loop keeps only weak ones

    def on_signal(sig: signal.Signals) -> None:
        again = bool(stopping)
        log.info("%s received: %s", sig.name,
                 "stopping now" if again else "stopping gracefully", extra={"signal": sig.name})
        task = loop.create_task(server.stop(0.0 if again else config.shutdown_grace))
        stopping.add(task)
        task.add_done_callback(stopping.discard)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    if server.auth is not None:
        loop.add_signal_handler(signal.SIGHUP, server.auth.reload, "SIGHUP")
    try:
        address = _address(config.listen, port)
        tls = _tls_mode(config)
        log.info("listening on %s (backend: %s, TLS: %s)", address, server.backend, tls,
                 extra={"address": address, "port": port, "backend": server.backend,
                        "tls": tls})
        await server.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
