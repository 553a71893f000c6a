"""Contention: W workers (asyncio tasks in the load generator, each with its own connection,
as W worker processes would have) loop on ONE key: take it (queueing up to 30 s), give it back
at once, queue again. Every grant is recorded with the worker's send time, its grant time (the
answer's arrival) and the send time of its Release.

Measured:
- handoffs/s: grants within the measured window whose worker was already waiting when the
  previous holder sent its Release, per second;
- handoff latency: grant time of the next holder - send time of the previous holder's Release
  (one clock: all workers are in this process);
- FIFO, two ways: (a) fencing tokens (the contender key's create revision, fixed when it
  queued) of successive grants strictly increase; (b) overtakes: a grant to a request sent at
  least 50 ms after another request that was still waiting (the 50 ms absorbs send-order noise
  between tasks). etcd-v3lock returns no fencing token, so only (b) applies to it.

Bounded: after the window no worker queues again; the ones queued are served and stop.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import time
from dataclasses import dataclass
from typing import Any, Protocol

from bench.loadgen import percentile
from bench.procs import CpuMeter
from bench.stack import Stack
from bench.systems import CALL_TIMEOUT, LOCK_TTL, channel, seconds
from threadlock.internal.etcd import rpc_pb2, rpc_pb2_grpc, v3lock_pb2, v3lock_pb2_grpc
from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc

WAIT = 30.0
OVERTAKE_SLACK = 0.05
MAX_GRANTS_PER_WORKER = 1_000_000


@dataclass
class Grant:
    worker: int
    token: int  # fencing token; 0 where the system has none
    sent: float
    granted: float
    released: float


class _Worker(Protocol):
    """One contender; `take()` returns (fencing token, release callable)."""

    async def take(self) -> tuple[int, Any]: ...

    async def close(self) -> None: ...


class _CoordinatorWorker:
    def __init__(self, address: str, key: str, i: int) -> None:
        self.channel = channel(address)
        self.stub = lock_pb2_grpc.LockServiceStub(self.channel)
        self.req = pb.AcquireRequest(key=key, owner=f"w{i}", ttl=seconds(LOCK_TTL),
                                     wait=seconds(WAIT))

    async def take(self) -> tuple[int, Any]:
        resp = await self.stub.Acquire(self.req, timeout=WAIT + CALL_TIMEOUT)
        if resp.WhichOneof("result") != "lease":
            raise RuntimeError(f"not granted within {WAIT} s: {resp.busy.message}")
        token = resp.lease.lease_token
        return resp.lease.fencing_token, lambda: self.stub.Release(
            pb.ReleaseRequest(lease_token=token), timeout=CALL_TIMEOUT)

    async def close(self) -> None:
        await self.channel.close()


class _V3LockWorker:
    def __init__(self, endpoint: str, key: str) -> None:
        self.channel = channel(endpoint)
        self.leases = rpc_pb2_grpc.LeaseStub(self.channel)
        self.lock = v3lock_pb2_grpc.LockStub(self.channel)
        self.name = f"/v3lock/{key}".encode()
        self.lease_id = 0

    async def open(self) -> _V3LockWorker:
        # One lease per worker for the whole phase, as a long-lived etcd client session has.
        resp = await self.leases.LeaseGrant(rpc_pb2.LeaseGrantRequest(TTL=600),
                                            timeout=CALL_TIMEOUT)
        self.lease_id = resp.ID
        return self

    async def take(self) -> tuple[int, Any]:
        got = await self.lock.Lock(v3lock_pb2.LockRequest(name=self.name, lease=self.lease_id),
                                   timeout=WAIT + CALL_TIMEOUT)
        return 0, lambda: self.lock.Unlock(v3lock_pb2.UnlockRequest(key=got.key),
                                           timeout=CALL_TIMEOUT)

    async def close(self) -> None:
        await self.leases.LeaseRevoke(rpc_pb2.LeaseRevokeRequest(ID=self.lease_id),
                                      timeout=CALL_TIMEOUT)
        await self.channel.close()


async def _contend(workers: list[_Worker], warmup: float, window: float
                   ) -> tuple[list[Grant], int, float, float]:
    grants: list[Grant] = []
    errors = [0]
    start = time.perf_counter()
    end = start + warmup + window

    async def loop(i: int) -> None:
        w = workers[i]
        for _ in range(MAX_GRANTS_PER_WORKER):
            sent = time.perf_counter()
            if sent >= end:
                return
            try:
                token, release = await w.take()
            except Exception:
                errors[0] += 1
                await asyncio.sleep(0.01)  # never spin on a failing system
                continue
            granted = released = time.perf_counter()
            await release()
            grants.append(Grant(i, token, sent, granted, released))

    await asyncio.gather(*(loop(i) for i in range(len(workers))))
    return grants, errors[0], start + warmup, end


def analyse(grants: list[Grant], measure_from: float, end: float,
            tokens: bool) -> dict[str, Any]:
    """Handoff rate and latency in the window; FIFO checks over every grant of the phase."""
    order = sorted(grants, key=lambda g: g.granted)
    handoffs = [nxt.granted - prev.released for prev, nxt in itertools.pairwise(order)
                if nxt.sent < prev.released and measure_from <= nxt.granted < end]
    token_violations = (sum(1 for a, b in itertools.pairwise(order)
                            if b.token <= a.token) if tokens else None)
    by_sent = sorted(grants, key=lambda g: g.sent)
    sents = [g.sent for g in by_sent]
    latest_grant: list[float] = []  # prefix max of grant times, in send order
    for g in by_sent:
        latest_grant.append(max(g.granted, latest_grant[-1] if latest_grant else g.granted))
    overtakes = 0
    for g in by_sent:
        earlier = bisect.bisect_right(sents, g.sent - OVERTAKE_SLACK)
        if earlier and latest_grant[earlier - 1] > g.granted:
            overtakes += 1  # someone who asked 50+ ms before g was served after g
    lat = sorted(handoffs)
    window = end - measure_from
    return {"grants": len(grants), "handoffs": len(handoffs),
            "handoffs_per_s": round(len(handoffs) / window, 1) if window > 0 else 0.0,
            "handoff_p50_ms": round(percentile(lat, 50) * 1e3, 3),
            "handoff_p99_ms": round(percentile(lat, 99) * 1e3, 3),
            "fencing_violations": token_violations, "overtakes": overtakes}


async def run(stack: Stack, workers: int, warmup: float, window: float,
              systems: tuple[str, ...] = ("coordinator", "etcd-v3lock")) -> dict[str, Any]:
    out: dict[str, Any] = {"workers": workers, "results": []}
    for system in systems:
        key = f"contended-{system}-{time.monotonic_ns()}"
        ws: list[_Worker]
        if system == "coordinator":
            ws = [_CoordinatorWorker(stack.address, key, i) for i in range(workers)]
        else:
            ws = list(await asyncio.gather(*(_V3LockWorker(stack.etcd.endpoint, key).open()
                                             for _ in range(workers))))
        meter = CpuMeter(stack.pids)
        meter.start()
        try:
            grants, errors, measure_from, end = await _contend(ws, warmup, window)
        finally:
            await asyncio.gather(*(w.close() for w in ws), return_exceptions=True)
        cpu = meter.stop()
        result = {"system": system, "errors": errors,
                  **analyse(grants, measure_from, end, tokens=system == "coordinator"),
                  "cpu_per_wall": cpu.per_wall()}
        print(f"  contended {system}: {result}", flush=True)
        out["results"].append(result)
    return out
