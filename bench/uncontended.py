"""Uncontended throughput: Acquire+Release pairs/s and cycle latency p50/p99 at 1, 8 and 32
concurrent clients on distinct keys, for every system (systems.py), on the same etcd in the same
run, with the CPU each process used at each point (procs.py). Then the ratios the targets are
about: coordinator / etcd-raw and coordinator / etcd-v3lock at each concurrency.

The machine is shared and its load drifts, so systems are compared in rounds: at each
concurrency, every round runs every system once (in a rotated order), and a point's pairs/s
is the median of its rounds (min and max are kept too); latencies are pooled over the rounds.
Also counted: the requests etcd received per pair, by method (its grpc_server_msg_received
counters), which says what each system asks of etcd for one lock and unlock.
A neighbour's burst then hits one round of each system rather than all of one system.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.loadgen import LoadResult, closed_loop
from bench.procs import CpuMeter, CpuShare
from bench.stack import Stack
from bench.systems import VARIANTS, Target, opener

# Called during one round of a point (system, clients, seconds) so that a profiler can attach.
Hook = Callable[[str, int, float], Awaitable[None]]


async def run(stack: Stack, systems: list[str], clients: list[int], warmup: float,
              seconds: float, rounds: int = 1, during: Hook | None = None) -> dict[str, Any]:
    points: list[dict[str, Any]] = []
    for n in clients:
        results: dict[str, list[LoadResult]] = {s: [] for s in systems}
        cpus: dict[str, list[CpuShare]] = {s: [] for s in systems}
        requests: dict[str, dict[str, float]] = {s: {} for s in systems}
        for r in range(rounds):
            for system in systems[r % len(systems):] + systems[:r % len(systems)]:
                target = Target(stack.address, stack.etcd.endpoint, stack.redis_port,
                                f"u-{system}-{n}-{time.monotonic_ns()}")
                meter = CpuMeter(stack.pids)
                before = etcd_requests(stack)
                meter.start()
                hook = during if r == rounds - 1 else None  # profile one round only
                results[system].append(await _point(system, target, n, warmup, seconds, hook))
                cpus[system].append(meter.stop())
                after = etcd_requests(stack)
                for method, count in after.items():
                    requests[system][method] = (requests[system].get(method, 0.0)
                                                + count - before.get(method, 0.0))
        for system in systems:
            point = _merge(system, n, results[system], cpus[system])
            cycles = sum(r.all_ops for r in results[system])
            point["etcd_requests_per_pair"] = {
                m: round(c / cycles, 2) for m, c in sorted(requests[system].items())
                if cycles and c / cycles >= 0.01}
            points.append(point)
            print(f"  uncontended {system:20s} {n:3d} clients: {point['ops_per_s']:9.1f}/s "
                  f"(rounds {point['rounds_ops_per_s']}) p50 {point['p50_ms']:7.2f} ms "
                  f"p99 {point['p99_ms']:7.2f} ms errors {point['errors']} "
                  f"cpu {point['cpu_per_wall']}", flush=True)
    return {"rounds": rounds, "points": points, "ratios": ratios(points)}


def etcd_requests(stack: Stack) -> dict[str, float]:
    """Requests (and stream messages) etcd has received so far, by gRPC method."""
    out: dict[str, float] = {}
    for line in stack.etcd_metrics().splitlines():
        if line.startswith("grpc_server_msg_received_total{"):
            head, _, value = line.rpartition(" ")
            method = head.partition('grpc_method="')[2].partition('"')[0]
            out[method] = out.get(method, 0.0) + float(value)
    return out


def _merge(system: str, n: int, results: list[LoadResult],
           cpus: list[CpuShare]) -> dict[str, Any]:
    pooled = LoadResult(n, sum(r.seconds for r in results), sum(r.ops for r in results),
                        sum(r.errors for r in results),
                        [x for r in results for x in r.latencies])
    rates = [round(r.ops_per_s, 1) for r in results]
    wall = sum(c.wall for c in cpus)
    names = {k for c in cpus for k in c.seconds}
    cpu = CpuShare(wall, {k: round(sum(c.seconds.get(k, 0.0) for c in cpus), 3)
                          for k in sorted(names)})
    return {"system": system, **pooled.summary(), "ops_per_s": statistics.median(rates),
            "rounds_ops_per_s": rates, "cpu_seconds": cpu.seconds,
            "cpu_per_wall": cpu.per_wall()}


async def _point(system: str, target: Target, n: int, warmup: float, seconds: float,
                 during: Hook | None) -> LoadResult:
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
    """For each concurrency: each coordinator variant's pairs/s over the baselines'."""
    by = {(p["system"], p["clients"]): p["ops_per_s"] for p in points}
    out = []
    for n in sorted({p["clients"] for p in points}):
        for variant in VARIANTS:
            if (variant, n) not in by:
                continue
            row: dict[str, Any] = {"clients": n, "system": variant}
            for base in ("etcd-raw", "etcd-v3lock", "redis"):
                if by.get((base, n)):
                    row[f"vs_{base}"] = round(by[(variant, n)] / by[(base, n)], 3)
            out.append(row)
    return out
