"""The closed-loop load generator, the same for every system: N asyncio tasks in this process
(never the coordinator's), each with its own connection and its own key, each running one lock
cycle (take + give back) after another as fast as answers come.

What is measured: after a warm-up (cycles run, not counted), every cycle that *starts* within
the measured window counts; its latency is its wall time from send of the first request to the
answer of the last (time.perf_counter). Throughput = counted cycles / window length. Bounded:
each task stops at the end of the window, and a cycle is capped by the system's own timeouts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

MAX_CYCLES_PER_TASK = 10_000_000  # a bound on the loop, far above any real run


class Cycle(Protocol):
    """One client of one system: `once()` takes its lock and gives it back."""

    async def once(self) -> None: ...

    async def close(self) -> None: ...


OpenCycle = Callable[[int], Awaitable[Cycle]]  # client index -> a connected client


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in [0, 100]); 0.0 for no values."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


@dataclass
class LoadResult:
    clients: int
    seconds: float
    ops: int
    errors: int
    latencies: list[float] = field(repr=False, default_factory=list)
    all_ops: int = 0  # completed cycles including the warm-up (for per-cycle request counts)

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> dict[str, float | int]:
        lat = sorted(self.latencies)
        return {"clients": self.clients, "ops": self.ops, "errors": self.errors,
                "seconds": round(self.seconds, 3), "ops_per_s": round(self.ops_per_s, 1),
                "p50_ms": round(percentile(lat, 50) * 1e3, 3),
                "p99_ms": round(percentile(lat, 99) * 1e3, 3)}


async def closed_loop(open_cycle: OpenCycle, clients: int, warmup: float,
                      seconds: float) -> LoadResult:
    """Run `clients` closed loops for `warmup` + `seconds`; count the last `seconds`."""
    cycles = await asyncio.gather(*(open_cycle(i) for i in range(clients)))
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    done = [0] * clients
    start = time.perf_counter()
    measure_from, end = start + warmup, start + warmup + seconds

    async def loop(i: int) -> None:
        cycle, lat = cycles[i], latencies[i]
        for _ in range(MAX_CYCLES_PER_TASK):
            t0 = time.perf_counter()
            if t0 >= end:
                return
            try:
                await cycle.once()
            except Exception:
                # Counted, not fatal: a failed cycle is reported and the run goes on. Pause so
                # that a system that fails at once cannot spin this loop.
                errors[i] += 1
                await asyncio.sleep(0.01)
                continue
            done[i] += 1
            if t0 >= measure_from:
                lat.append(time.perf_counter() - t0)

    try:
        await asyncio.gather(*(loop(i) for i in range(clients)))
    finally:
        await asyncio.gather(*(c.close() for c in cycles), return_exceptions=True)
    flat = [x for lat in latencies for x in lat]
    return LoadResult(clients, seconds, len(flat), sum(errors), flat, sum(done))
