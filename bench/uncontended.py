"""Uncontended throughput: Acquire+Release pairs/s and cycle latency p50/p99 at 1, 8 and 32
concurrent clients on distinct keys, for every system (systems.py), on the same etcd in the same
run, with the CPU each process used at each point (procs.py). Then the ratios the targets are
about: coordinator / etcd-raw and coordinator / etcd-v3lock at each concurrency."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.loadgen import closed_loop
from bench.procs import CpuMeter
from bench.stack import Stack
from bench.systems import Target, opener

# Called around one point (system, clients) so that a profiler can attach for its duration.
Hook = Callable[[str, int, float], Awaitable[None]]


async def run(stack: Stack, systems: list[str], clients: list[int], warmup: float,
              seconds: float, during: Hook | None = None) -> dict[str, Any]:
    points: list[dict[str, Any]] = []
    for system in systems:
        for n in clients:
            target = Target(stack.address, stack.etcd.endpoint, stack.redis_port,
                            f"u-{system}-{n}-{time.monotonic_ns()}")
            meter = CpuMeter(stack.pids)
            meter.start()
            result = await _point(system, target, n, warmup, seconds, during)
            cpu = meter.stop()
            point = {"system": system, **result.summary(),
                     "cpu_seconds": cpu.seconds, "cpu_per_wall": cpu.per_wall()}
            points.append(point)
            print(f"  uncontended {system:20s} {n:3d} clients: {point['ops_per_s']:9.1f}/s "
                  f"p50 {point['p50_ms']:7.2f} ms p99 {point['p99_ms']:7.2f} ms "
                  f"errors {point['errors']} cpu {cpu.per_wall()}", flush=True)
    return {"points": points, "ratios": ratios(points)}


async def _point(system: str, target: Target, n: int, warmup: float, seconds: float,
                 during: Hook | None) -> Any:
    if during is None:
        return await closed_loop(opener(system, target), n, warmup, seconds)
    load = asyncio.create_task(closed_loop(opener(system, target), n, warmup, seconds))
    try:
        await asyncio.sleep(warmup)  # profile the measured window, not the connection setup
        await during(system, n, seconds)
    finally:
        result = await load
    return result


def ratios(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each concurrency: each coordinator variant's pairs/s over the two etcd baselines."""
    by = {(p["system"], p["clients"]): p["ops_per_s"] for p in points}
    out = []
    for n in sorted({p["clients"] for p in points}):
        for variant in ("coordinator", "coordinator-session"):
            if (variant, n) not in by:
                continue
            row: dict[str, Any] = {"clients": n, "system": variant}
            for base in ("etcd-raw", "etcd-v3lock", "redis"):
                if by.get((base, n)):
                    row[f"vs_{base}"] = round(by[(variant, n)] / by[(base, n)], 3)
            out.append(row)
    return out
