"""Scale: S sessions (OpenSession, renewed every ttl/3 as the SDK does) hold L locks each
(Acquire with session_id, wait 0, `concurrency` calls in flight over one connection per
session, as S client processes would have).

Measured:
- acquisition rate of the S*L locks (locks/s) and Acquire errors;
- coordinator memory: VmRSS before the sessions open and once all locks are held (and VmHWM);
- Status(key) latency p50/p99 over random held keys, one call at a time (pure latency);
- keepalive traffic, two windows of 2*ttl/3 each (two renewal rounds): first every session
  renews, then only half of them. Counted: KeepAlive calls the clients sent, and LeaseKeepAlive
  messages etcd received (its grpc_server_msg_received_total). Traffic proportional to
  sessions, not locks, means: per window about 2 per renewing session, halving with them, and
  nothing in proportion to the S*L locks;
  The CPU each process uses during these windows (nothing but renewals runs) is recorded too;
- CloseSession of all sessions: how long etcd takes to free S*L locks by lease revocation.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from typing import Any

import grpc.aio

from bench.loadgen import percentile
from bench.procs import CpuMeter, rss_bytes
from bench.stack import Stack, metric_sum
from bench.systems import CALL_TIMEOUT, channel, seconds
from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc

MB = 1024 * 1024


def _vm_hwm(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


class _Session:
    def __init__(self, address: str, index: int) -> None:
        self.channel = channel(address)
        self.stub = lock_pb2_grpc.LockServiceStub(self.channel)
        self.index = index
        self.id = ""
        self.renewing = True
        self.keepalives = 0  # KeepAlive calls sent
        self.keepalive_errors = 0

    async def open(self, ttl: int) -> _Session:
        resp = await self.stub.OpenSession(pb.OpenSessionRequest(owner=f"s{self.index}",
                                                                 ttl=seconds(ttl)),
                                           timeout=CALL_TIMEOUT)
        self.id = resp.session_id
        return self

    async def renew(self) -> None:
        self.keepalives += 1
        try:
            await self.stub.KeepAlive(pb.KeepAliveRequest(session_id=self.id),
                                      timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError:
            self.keepalive_errors += 1

    async def keep(self, ttl: int) -> None:
        # Start at a random phase, as independent processes would, then every ttl/3.
        await asyncio.sleep(random.uniform(0, ttl / 3))
        for _ in range(1_000_000):  # until cancelled
            if self.renewing:
                await self.renew()
            await asyncio.sleep(ttl / 3)


def _etcd_keepalives(stack: Stack) -> float:
    return metric_sum(stack.etcd_metrics(), "grpc_server_msg_received_total",
                      grpc_method="LeaseKeepAlive")


async def _window(stack: Stack, sessions: list[_Session], seconds_: float) -> dict[str, Any]:
    renewing = [s for s in sessions if s.renewing]
    meter = CpuMeter(stack.pids)
    sent0 = sum(s.keepalives for s in sessions)
    etcd0 = _etcd_keepalives(stack)
    meter.start()
    await asyncio.sleep(seconds_)
    cpu = meter.stop()
    sent = sum(s.keepalives for s in sessions) - sent0
    etcd = _etcd_keepalives(stack) - etcd0
    # Nothing but renewals runs now: this is what holding the locks costs the processes.
    return {"renewing_sessions": len(renewing), "seconds": round(seconds_, 2),
            "idle_cpu_per_wall": cpu.per_wall(),
            "client_keepalives": sent, "client_keepalives_per_s": round(sent / seconds_, 2),
            "etcd_keepalives": int(etcd), "etcd_keepalives_per_s": round(etcd / seconds_, 2)}


async def _acquire_all(sessions: list[_Session], per_session: int, concurrency: int,
                       tag: str) -> tuple[int, int]:
    work = iter([(s, j) for j in range(per_session) for s in sessions])
    granted = [0]
    errors = [0]

    async def worker() -> None:
        for s, j in work:  # a shared iterator: each item is taken by one worker
            req = pb.AcquireRequest(key=f"{tag}-{s.index}-{j}", owner=f"s{s.index}",
                                    wait=seconds(0), session_id=s.id)
            try:
                resp = await s.stub.Acquire(req, timeout=CALL_TIMEOUT)
            except grpc.aio.AioRpcError:
                errors[0] += 1
                continue
            if resp.WhichOneof("result") == "lease":
                granted[0] += 1
            else:
                errors[0] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return granted[0], errors[0]


async def run(stack: Stack, sessions_n: int, per_session: int, ttl: int, concurrency: int,
              status_samples: int) -> dict[str, Any]:
    assert stack.coordinator is not None
    pid = stack.coordinator.pid
    tag = f"scale-{time.monotonic_ns()}"
    out: dict[str, Any] = {"sessions": sessions_n, "locks_per_session": per_session,
                           "locks": sessions_n * per_session, "session_ttl": ttl,
                           "rss_before_mb": round(rss_bytes(pid) / MB, 1)}
    sessions = [_Session(stack.address, i) for i in range(sessions_n)]
    keepers: list[asyncio.Task[None]] = []
    try:
        await asyncio.gather(*(s.open(ttl) for s in sessions))
        keepers = [asyncio.create_task(s.keep(ttl)) for s in sessions]
        t0 = time.perf_counter()
        granted, errors = await _acquire_all(sessions, per_session, concurrency, tag)
        took = time.perf_counter() - t0
        out.update(granted=granted, acquire_errors=errors, acquire_seconds=round(took, 1),
                   acquire_per_s=round(granted / took, 1),
                   rss_after_mb=round(rss_bytes(pid) / MB, 1),
                   rss_peak_mb=round(_vm_hwm(pid) / MB, 1))
        print(f"  scale: {granted} locks in {took:.1f} s, RSS {out['rss_after_mb']} MB",
              flush=True)
        out["status"] = await _status_latency(sessions[0].stub, sessions, per_session, tag,
                                              status_samples)
        window = 2 * ttl / 3
        all_on = await _window(stack, sessions, window)
        half = sessions[len(sessions) // 2:]
        # One last renewal for the half that stops: it outlives the window (ttl > window).
        await asyncio.gather(*(s.renew() for s in half))
        for s in half:
            s.renewing = False
        half_on = await _window(stack, sessions, window)
        out["keepalive"] = {
            "expected_client_per_s": round(sessions_n / (ttl / 3), 2),
            "all_sessions": all_on, "half_sessions": half_on,
            "renewal_errors": sum(s.keepalive_errors for s in sessions)}
        print(f"  scale keepalive: {out['keepalive']}", flush=True)
    finally:
        for k in keepers:
            k.cancel()
        await asyncio.gather(*keepers, return_exceptions=True)
        t0 = time.perf_counter()
        await asyncio.gather(*(s.stub.CloseSession(pb.CloseSessionRequest(session_id=s.id),
                                                   timeout=60) for s in sessions if s.id),
                             return_exceptions=True)
        out["close_all_seconds"] = round(time.perf_counter() - t0, 2)
        await asyncio.gather(*(s.channel.close() for s in sessions), return_exceptions=True)
    out["rss_end_mb"] = round(rss_bytes(pid) / MB, 1)
    return out


async def _status_latency(stub: Any, sessions: list[_Session], per_session: int, tag: str,
                          samples: int) -> dict[str, Any]:
    """Status(key) of random held keys, one at a time; a key with no holder is an error."""
    rng = random.Random(7)
    lat: list[float] = []
    missing = 0
    for _ in itertools.repeat(None, samples):
        s = rng.choice(sessions)
        key = f"{tag}-{s.index}-{rng.randrange(per_session)}"
        t0 = time.perf_counter()
        resp = await stub.Status(pb.StatusRequest(key=key), timeout=CALL_TIMEOUT)
        lat.append(time.perf_counter() - t0)
        if not resp.locks or not resp.locks[0].holder.owner:
            missing += 1
    lat.sort()
    return {"samples": samples, "p50_ms": round(percentile(lat, 50) * 1e3, 3),
            "p99_ms": round(percentile(lat, 99) * 1e3, 3),
            "max_ms": round(lat[-1] * 1e3, 3) if lat else 0.0, "missing": missing}
