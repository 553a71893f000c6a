"""One chaos scenario's moving parts: coordinator replicas (`threadlock serve` processes on
fixed loopback addresses, so a killed one can come back where the SDKs look for it) on an
etcd cluster, SDK worker processes (tests/chaos/worker.py), and their records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from harness import wait_serving

from chaos.analysis import Report, analyse, load
from threadlock.local_etcd import free_port

HERE = Path(__file__).resolve().parent


class Replica:
    def __init__(self, address: str, log: Path, argv: list[str]) -> None:
        self.address = address
        self.log = log
        self.argv = argv
        self.proc: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None and self.proc.poll() is None
        return self.proc.pid


class Chaos:
    """Replicas and workers of one scenario; `close()` ends every process it started."""

    def __init__(self, tmp: Path, endpoints: str, *, replicas: int = 2, ttl: float = 2.0,
                 wait: float = 5.0, keys: int = 4, processes: int = 3, threads: int = 4,
                 hold: tuple[float, float] = (0.005, 0.03), serve_argv: list[str] | None = None,
                 extra_env: dict[str, str] | None = None) -> None:
        self.tmp = Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "THREADLOCK_ETCD_ENDPOINTS": endpoints,
                    "THREADLOCK_KEY_PREFIX": f"/tl-chaos/{uuid.uuid4().hex[:8]}/",
                    "THREADLOCK_SHUTDOWN_GRACE": "2", **(extra_env or {})}
        argv = serve_argv or [sys.executable, "-m", "threadlock", "serve"]
        self.replicas = [Replica(f"127.0.0.1:{free_port()}", self.tmp / f"serve-{i}.log", argv)
                         for i in range(replicas)]
        self.ttl, self.wait, self.hold = ttl, wait, hold
        self.keys = [f"conv_chaos_{i}" for i in range(keys)]
        self.processes, self.threads = processes, threads
        self.workers: list[subprocess.Popen[str]] = []
        self.outputs: list[Path] = []
        self.stop_file = self.tmp / "stop"

    # --- replicas -----------------------------------------------------------------------------
    def start_replica(self, r: Replica, timeout: float = 60.0) -> None:
        env = {**self.env, "THREADLOCK_LISTEN": r.address,
               "THREADLOCK_HTTP_LISTEN": f"127.0.0.1:{free_port()}"}
        with r.log.open("a") as log:
            r.proc = subprocess.Popen(r.argv, env=env, text=True, stdout=log,
                                      stderr=subprocess.STDOUT)
        wait_serving(r.address, r.proc, timeout=timeout)

    def start(self) -> Chaos:
        for r in self.replicas:
            self.start_replica(r)
        return self

    def kill_replica(self, r: Replica) -> None:
        assert r.proc is not None
        r.proc.send_signal(signal.SIGKILL)
        r.proc.wait()

    # --- workers ------------------------------------------------------------------------------
    def start_workers(self, seconds: float, max_holds: int = 100_000) -> float:
        """Worker processes running for `seconds`; returns when they stop (monotonic)."""
        until = time.monotonic() + seconds
        addresses = [r.address for r in self.replicas]
        for i in range(self.processes):
            out = self.tmp / f"worker-{i}.jsonl"
            self.outputs.append(out)
            rotated = addresses[i % len(addresses):] + addresses[:i % len(addresses)]
            cfg: dict[str, Any] = {
                "name": f"w{len(self.workers)}", "addresses": rotated, "keys": self.keys,
                "ttl": self.ttl, "wait": self.wait, "hold_min": self.hold[0],
                "hold_max": self.hold[1], "threads": self.threads, "until": until,
                "max_holds": max_holds, "out": str(out), "resource": str(self.tmp / "resource"),
                "stop_file": str(self.stop_file), "call_timeout": 5.0}
            log = (self.tmp / f"worker-{i}.log").open("w")
            self.workers.append(subprocess.Popen(
                [sys.executable, str(HERE / "worker.py"), json.dumps(cfg)], env=self.env,
                text=True, stdout=log, stderr=subprocess.STDOUT))
        return until

    def holds(self) -> int:
        """Holds recorded so far (lines of the workers' outputs)."""
        total = 0
        for p in self.outputs:
            if p.exists():
                with p.open("rb") as f:
                    total += sum(1 for line in f if line.startswith(b'{"key"'))
        return total

    def wait_holds(self, count: int, timeout: float = 120.0) -> None:
        """Until the workers have recorded `count` holds: the load is on (starting Python
        processes takes a while on a busy machine)."""
        deadline = time.monotonic() + timeout
        while self.holds() < count:
            assert time.monotonic() < deadline, f"no {count} holds in {timeout}s: " + (
                self.worker_logs())
            assert all(w.poll() is None for w in self.workers), self.worker_logs()
            time.sleep(0.2)

    def finish(self, at: float, timeout: float = 120.0) -> float:
        """Let the workers run until `at` (monotonic), stop them, wait; returns `at`."""
        time.sleep(max(at - time.monotonic(), 0))
        self.stop_file.touch()
        self.wait_workers(timeout)
        return at

    def wait_workers(self, timeout: float) -> None:
        """Until every worker process exited (each ends by itself at its `until`)."""
        deadline = time.monotonic() + timeout
        for w in self.workers:
            try:
                w.wait(timeout=max(deadline - time.monotonic(), 1.0))
            except subprocess.TimeoutExpired:
                self.stop_file.touch()
                w.wait(timeout=30)
            assert w.returncode == 0, f"a worker exited {w.returncode}: {self.worker_logs()}"

    def worker_logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:]
                         for p in sorted(self.tmp.glob("worker-*.log")))

    def report(self) -> Report:
        return analyse(load(self.outputs))

    def close(self) -> None:
        self.stop_file.touch()
        for w in self.workers:
            if w.poll() is None:
                w.kill()
                w.wait()
        for r in self.replicas:
            if r.proc is not None and r.proc.poll() is None:
                os.kill(r.proc.pid, signal.SIGCONT)
                r.proc.terminate()
                try:
                    r.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    r.proc.kill()
                    r.proc.wait()
