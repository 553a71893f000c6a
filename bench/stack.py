"""The systems under test, started for one benchmark run: one etcd (with or without fsync), a
`threadlock serve` subprocess on it with metrics on, and optionally a local redis-server with
no persistence. Every process is ours, on free loopback ports, and is stopped within a
bounded time (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from threadlock.local_etcd import EtcdServer, find_etcd, free_port
from threadlock.local_serve import wait_serving

ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT = 10.0
START_TIMEOUT = 30.0


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(STOP_TIMEOUT)


def etcd_version() -> str:
    """The version of the etcd the tests use (find_etcd: the release setup.sh builds unless
    $THREADLOCK_ETCD_BIN names another), e.g. "3.6.17"."""
    return ".".join(map(str, find_etcd()[1]))


def http_get(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # loopback only
        body: bytes = resp.read()
    return body.decode()


def metric_sum(text: str, name: str, **labels: str) -> float:
    """Sum of the Prometheus samples `name{...}` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line[len(name):len(name) + 1] not in ("{", " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


class Stack:
    """etcd + coordinator (+ redis). Use as a context manager; `pids` names every process."""

    def __init__(self, work: Path, *, fsync: bool, redis: bool = True,
                 prefix: str = "/bench/") -> None:
        self.work = work
        self.fsync = fsync
        self.want_redis = redis
        self.prefix = prefix
        self.etcd = EtcdServer(work / "etcd", "bench", fsync=fsync)
        self.etcd_version = etcd_version()
        self.coordinator: subprocess.Popen[bytes] | None = None
        self.address = ""
        self.metrics_address = ""
        self.redis: subprocess.Popen[bytes] | None = None
        self.redis_port = 0
        self.redis_skipped = ""  # why there is no Redis baseline ("" = there is one)

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Stack:
        self.work.mkdir(parents=True, exist_ok=True)
        self.etcd.start()
        self._start_coordinator()
        if self.want_redis:
            self._start_redis()
        else:
            self.redis_skipped = "not requested (--no-redis)"
        return self

    def stop(self) -> None:
        _stop(self.coordinator)
        _stop(self.redis)
        self.etcd.stop()

    def __enter__(self) -> Stack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def pids(self) -> dict[str, int]:
        out = {"loadgen": os.getpid()}
        if self.coordinator is not None:
            out["coordinator"] = self.coordinator.pid
        if self.etcd.pid is not None:
            out["etcd"] = self.etcd.pid
        if self.redis is not None:
            out["redis"] = self.redis.pid
        return out

    # --- coordinator --------------------------------------------------------------------------
    def _start_coordinator(self) -> None:
        self.address = f"127.0.0.1:{free_port()}"
        self.metrics_address = f"127.0.0.1:{free_port()}"
        env = {**os.environ, "THREADLOCK_LISTEN": self.address,
               "THREADLOCK_ETCD_ENDPOINTS": self.etcd.endpoint,
               "THREADLOCK_KEY_PREFIX": self.prefix,
               "THREADLOCK_METRICS_LISTEN": self.metrics_address,
               "THREADLOCK_SHUTDOWN_GRACE": "2"}
        log = (self.work / "coordinator.log").open("wb")
        # The shipped defaults otherwise (log level INFO, JSON logs): what users run.
        self.coordinator = subprocess.Popen(
            [sys.executable, "-m", "threadlock", "serve"], env=env, cwd=ROOT,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self._wait_serving()

    def _wait_serving(self) -> None:
        """Until the coordinator answers health SERVING (it is then connected to etcd)."""
        assert self.coordinator is not None
        try:
            wait_serving(self.address, self.coordinator, START_TIMEOUT)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc} (see {self.work / 'coordinator.log'})") from None

    def coordinator_metrics(self) -> str:
        return http_get(f"http://{self.metrics_address}/metrics")

    def etcd_metrics(self) -> str:
        return http_get(f"{self.etcd.client_url}/metrics")

    # --- redis --------------------------------------------------------------------------------
    def _start_redis(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.access(binary, os.X_OK):
            self.redis_skipped = "no redis-server binary (apt-get install redis-server)"
            return
        self.redis_port = free_port()
        log = (self.work / "redis.log").open("wb")
        # No persistence: a lock server keeps nothing worth a disk write (seed 003's setup).
        self.redis = subprocess.Popen(
            [binary, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", str(self.work)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        import redis  # the sync client: a PING until it answers

        client = redis.Redis(host="127.0.0.1", port=self.redis_port, socket_timeout=1)
        try:
            while time.monotonic() < deadline:
                if self.redis.poll() is not None:
                    self.redis_skipped = f"redis-server exited with {self.redis.returncode}"
                    self.redis = None
                    return
                with contextlib.suppress(redis.RedisError):
                    if client.ping():
                        return
                time.sleep(0.05)
        finally:
            client.close()
        _stop(self.redis)
        self.redis = None
        self.redis_skipped = f"redis-server did not answer PING within {START_TIMEOUT:.0f} s"
