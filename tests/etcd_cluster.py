"""A real 3-member etcd cluster on loopback for the chaos suite (tests/test_chaos.py).

Each member is its own process on free 127.0.0.1 ports with a data dir of its own, so a test
can SIGKILL, SIGSTOP/SIGCONT, stop and restart any one by PID (a restart rejoins with its data:
``--initial-cluster-state existing``). The leader is found with the Maintenance API's Status
(what ``etcdctl endpoint status`` shows); ``hashkv`` compares the members' key-value stores
(``etcdctl endpoint hashkv``). The binary is the one the other fixtures use (find_etcd(): the
etcd 3.6 that scripts/setup.sh builds).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
from etcd_server import find_etcd, free_port

from threadlock.internal.etcd import rpc_pb2, rpc_pb2_grpc

# Loopback, 2 shared cores: etcd's defaults (100 ms / 1 s) with a leader failover of ~1-2 s.
HEARTBEAT_MS = 100
ELECTION_MS = 1000


class Member:
    """One etcd member: its ports, data dir and log are fixed at construction."""

    def __init__(self, base_dir: Path, name: str, host: str = "127.0.0.1",
                 wrap: list[str] | None = None) -> None:
        self.name = name
        self.host = host
        self.wrap = wrap or []  # a command prefix, e.g. ["ip", "netns", "exec", "<ns>"]
        self.base_dir = base_dir
        self.data_dir = base_dir / "data"
        self.log_path = base_dir / "etcd.log"
        self.client_port = free_port()
        self.peer_port = free_port()
        while self.peer_port == self.client_port:
            self.peer_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopped = False  # SIGSTOPped
        self.cut = False  # partitioned away by the test: not asked (it cannot answer)

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{self.host}:{self.peer_port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        assert self.proc is not None and self.running, f"{self.name} is not running"
        return self.proc.pid


class EtcdCluster:
    """Three (or `size`) members; `endpoints` is the comma-separated list for
    THREADLOCK_ETCD_ENDPOINTS. `quota_bytes` sets --quota-backend-bytes on every member.
    `hosts` and `wraps` (per member) place members elsewhere than 127.0.0.1 of this network
    namespace, e.g. in another one (the partition scenario, tests/chaos/partition.py)."""

    def __init__(self, base_dir: Path, size: int = 3, quota_bytes: int | None = None,
                 hosts: list[str] | None = None, wraps: list[list[str]] | None = None) -> None:
        self.base_dir = Path(base_dir)
        self.members = [Member(self.base_dir / f"m{i}", f"m{i}",
                               hosts[i] if hosts else "127.0.0.1", wraps[i] if wraps else None)
                        for i in range(size)]
        self.quota_bytes = quota_bytes
        self.binary = find_etcd()[0]
        self.etcdctl = str(Path(self.binary).with_name("etcdctl"))
        self._started_once: set[str] = set()

    @property
    def endpoints(self) -> str:
        return ",".join(m.endpoint for m in self.members)

    def _command(self, m: Member) -> list[str]:
        # (ip netns exec execs the command: the PID is etcd's own)
        initial = ",".join(f"{o.name}={o.peer_url}" for o in self.members)
        cmd = [*m.wrap, self.binary, "--name", m.name, "--data-dir", str(m.data_dir),
               "--listen-client-urls", f"http://{m.endpoint}",
               "--advertise-client-urls", f"http://{m.endpoint}",
               "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
               "--initial-cluster", initial, "--initial-cluster-token", self.base_dir.name,
               "--initial-cluster-state",
               "existing" if m.name in self._started_once else "new",
               "--heartbeat-interval", str(HEARTBEAT_MS),
               "--election-timeout", str(ELECTION_MS),
               "--unsafe-no-fsync", "--logger", "zap", "--log-level", "warn"]
        if self.quota_bytes is not None:
            cmd += ["--quota-backend-bytes", str(self.quota_bytes)]
        return cmd

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> None:
        for m in self.members:
            self._spawn(m)
        for m in self.members:
            self.wait_ready(m, timeout)

    def _spawn(self, m: Member) -> None:
        assert not m.running, f"{m.name} is already running"
        m.base_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
        cmd = self._command(m)
        with m.log_path.open("ab") as log:
            log.write(f"\n=== {time.strftime('%H:%M:%S')} {' '.join(cmd)}\n".encode())
            log.flush()
            m.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=subprocess.STDOUT, env=env)
        m.stopped = False
        self._started_once.add(m.name)

    def wait_ready(self, m: Member, timeout: float = 60.0) -> None:
        """Until `m` answers a linearizable Range (it has a leader and is caught up)."""
        deadline = time.monotonic() + timeout
        last = "no attempt"
        with grpc.insecure_channel(m.endpoint) as channel:
            kv = rpc_pb2_grpc.KVStub(channel)
            while time.monotonic() < deadline:
                assert m.proc is not None
                if m.proc.poll() is not None:
                    raise RuntimeError(f"etcd {m.name} exited: {self.log_tail(m)}")
                try:
                    kv.Range(rpc_pb2.RangeRequest(key=b"\0", count_only=True), timeout=2.0)
                    return
                except grpc.RpcError as exc:
                    last = f"{exc.code()}: {exc.details()}"
                time.sleep(0.1)
        raise RuntimeError(f"etcd {m.name} not ready in {timeout}s ({last}): {self.log_tail(m)}")

    def kill(self, m: Member) -> None:
        """SIGKILL (resuming it first if stopped, so nothing lingers)."""
        if m.running and m.proc is not None:
            m.proc.send_signal(signal.SIGKILL)
            m.proc.wait()
        m.stopped = False

    def pause(self, m: Member) -> None:
        os.kill(m.pid, signal.SIGSTOP)
        m.stopped = True

    def resume(self, m: Member) -> None:
        os.kill(m.pid, signal.SIGCONT)
        m.stopped = False

    def restart(self, m: Member, timeout: float = 60.0) -> None:
        """Start a killed member again on its ports and data (it rejoins the cluster)."""
        self._spawn(m)
        self.wait_ready(m, timeout)

    def close(self) -> None:
        for m in self.members:
            if m.running and m.proc is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(m.proc.pid, signal.SIGCONT)
                m.proc.kill()
                m.proc.wait()

    def log_tail(self, m: Member, lines: int = 20) -> str:
        try:
            return "\n".join(m.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # --- inspection and maintenance (the Maintenance API, like etcdctl) ----------------------
    @contextlib.contextmanager
    def _maintenance(self, m: Member) -> Iterator[rpc_pb2_grpc.MaintenanceStub]:
        with grpc.insecure_channel(m.endpoint) as channel:
            yield rpc_pb2_grpc.MaintenanceStub(channel)

    def status(self, m: Member) -> rpc_pb2.StatusResponse:
        with self._maintenance(m) as maintenance:
            resp: rpc_pb2.StatusResponse = maintenance.Status(rpc_pb2.StatusRequest(), timeout=3)
            return resp

    def leader(self, timeout: float = 60.0) -> Member:
        """The member that is leader now, as the running members agree (retrying while an
        election is under way)."""
        deadline = time.monotonic() + timeout
        while True:
            ids: dict[int, Member] = {}
            leaders: set[int] = set()
            for m in self.members:
                if not m.running or m.stopped or m.cut:
                    continue
                with contextlib.suppress(grpc.RpcError):
                    s = self.status(m)
                    ids[s.header.member_id] = m
                    if s.leader:
                        leaders.add(s.leader)
            if len(leaders) == 1 and (lead := leaders.pop()) in ids:
                return ids[lead]
            if time.monotonic() >= deadline:
                raise AssertionError(f"no agreed etcd leader in {timeout}s")
            time.sleep(0.1)

    def move_leader(self, to: Member) -> None:
        """Hand leadership to `to` (``etcdctl move-leader``, sent to the current leader)."""
        leader = self.leader()
        if leader is to:
            return
        subprocess.run([self.etcdctl, "--endpoints", leader.endpoint, "move-leader",
                        f"{self.status(to).header.member_id:x}"],
                       capture_output=True, text=True, timeout=30, check=True)

    def hashkv(self) -> dict[str, int]:
        """Each running member's hash of its key-value store at one common revision
        (``etcdctl endpoint hashkv --rev``: the trimmed API stubs here lack HashKV)."""
        live = [m for m in self.members if m.running and not m.stopped and not m.cut]
        revision = min(self.status(m).header.revision for m in live)
        out = subprocess.run(
            [self.etcdctl, "endpoint", "hashkv", f"--rev={revision}", "-w", "json",
             "--endpoints", ",".join(m.endpoint for m in live)],
            capture_output=True, text=True, timeout=30, check=True).stdout
        by_endpoint = {e["Endpoint"]: e["HashKV"]["hash"] for e in json.loads(out)}
        return {m.name: by_endpoint[f"http://{m.endpoint}"] if f"http://{m.endpoint}"
                in by_endpoint else by_endpoint[m.endpoint] for m in live}

    def etcdctl_run(self, *args: str, timeout: float = 60.0) -> str:
        """etcdctl against every running member (the trimmed API stubs here lack the
        maintenance calls); CalledProcessError with its output if it fails."""
        live = [m.endpoint for m in self.members if m.running and not m.stopped and not m.cut]
        return subprocess.run([self.etcdctl, "--endpoints", ",".join(live), *args],
                              capture_output=True, text=True, timeout=timeout,
                              check=True).stdout

    def alarms(self) -> str:
        """``etcdctl alarm list``: e.g. "memberID:... alarm:NOSPACE", "" when none."""
        return self.etcdctl_run("alarm", "list").strip()

    def recover_space(self) -> None:
        """What an operator does after NOSPACE (etcd's documented recipe): compact to the
        current revision, defragment every member, disarm the alarm."""
        status = json.loads(self.etcdctl_run("endpoint", "status", "-w", "json"))
        revision = max(int(s["Status"]["header"]["revision"]) for s in status)
        self.etcdctl_run("compaction", "--physical", str(revision))
        self.etcdctl_run("defrag")
        self.etcdctl_run("alarm", "disarm")
