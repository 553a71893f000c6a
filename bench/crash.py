"""Crash: a holder *process* (holder.py, the SDK renewing every ttl/3) holds a key, a waiter
queues for it (Acquire wait 30 s), the holder is SIGKILLed at a random point of its renewal
cycle, and we time kill -> the waiter's grant arriving. Repeated; the target is TTL + 0.5 s.

Why it is not instant: the lease still has up to TTL left (renewed at most ttl/3 before the
kill), etcd's lessor finds expired leases on a ~500 ms tick, and the revocation then wakes the
waiter through its watch. Expected range: about 2/3 TTL .. TTL + 0.5 s.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from typing import Any

from bench.stack import ROOT, Stack
from bench.systems import CALL_TIMEOUT, channel, seconds
from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc

WAIT = 30.0
STEP_TIMEOUT = 20.0


async def _queued(stub: Any, key: str) -> None:
    """Until Status shows our waiter behind the holder (bounded by STEP_TIMEOUT)."""
    end = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < end:
        resp = await stub.Status(pb.StatusRequest(key=key), timeout=CALL_TIMEOUT)
        if resp.locks and len(resp.locks[0].waiters) >= 1:
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"the waiter on {key} never showed up in Status")


async def one(stack: Stack, ttl: int, rng: random.Random) -> float:
    key = f"crash-{time.monotonic_ns()}"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.holder", stack.address, key, str(ttl), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL)
    ch = channel(stack.address)
    stub = lock_pb2_grpc.LockServiceStub(ch)
    waiter: asyncio.Future[Any] | None = None
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), STEP_TIMEOUT)
        if not line.startswith(b"held"):
            raise RuntimeError(f"holder did not take {key}: {line!r}")
        waiter = asyncio.ensure_future(stub.Acquire(pb.AcquireRequest(
            key=key, owner="next", ttl=seconds(10), wait=seconds(WAIT)),
            timeout=WAIT + CALL_TIMEOUT))
        await _queued(stub, key)
        await asyncio.sleep(rng.uniform(0, ttl / 3))  # any point of the renewal cycle
        proc.kill()
        killed = time.perf_counter()
        resp = await waiter
        handover = time.perf_counter() - killed
        if resp.WhichOneof("result") != "lease":
            raise RuntimeError(f"waiter not granted after the crash: {resp}")
        await stub.Release(pb.ReleaseRequest(lease_token=resp.lease.lease_token),
                           timeout=CALL_TIMEOUT)
        return handover
    finally:
        if proc.returncode is None:
            proc.kill()
        await asyncio.wait_for(proc.wait(), STEP_TIMEOUT)
        if waiter is not None and not waiter.done():
            waiter.cancel()
        await ch.close()


async def run(stack: Stack, ttl: int, repeats: int) -> dict[str, Any]:
    rng = random.Random(11)
    handovers = []
    for i in range(repeats):
        h = await one(stack, ttl, rng)
        handovers.append(round(h, 3))
        print(f"  crash {i + 1}/{repeats}: lock free after {h:.3f} s (TTL {ttl} s)", flush=True)
    return {"ttl": ttl, "repeats": repeats, "handover_s": handovers,
            "max_s": max(handovers), "target_s": ttl + 0.5}
