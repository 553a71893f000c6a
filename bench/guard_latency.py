"""T3: what the OpenAI guard adds to one call, for one sequential caller.

A fake OpenAI server answers at once (`response_seconds=0`), in a thread of its own so its work
does not share the caller's event loop. Each round makes `calls` plain `responses.create` calls
("direct") and `calls` through `AsyncGuardedOpenAI` with the SDK's defaults (a lease per call:
Acquire, the call, Release) on one conversation; the two paths alternate which goes first from
round to round. The added latency is the guarded percentile minus the direct one.

For scale, the same caller also times etcd's own floor for one sequential lock+unlock, with
the uncontended phase's cycles (systems.py), interleaved with the rounds: `etcd-raw` (two
fsynced writes: put-if-absent, delete) and `etcd-v3lock` (four requests). A guarded call
makes two fsynced writes too (the grant, the release), so `etcd-raw`'s p50 is what any design
that makes the lock durable before the call and frees it after pays on this disk.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import openai

from bench.loadgen import percentile
from bench.systems import Target, opener
from threadlock.fake_openai import FakeOpenAI
from threadlock_client.aio import AsyncLockClient
from threadlock_client.guard import AsyncGuardedOpenAI


async def _timed(fn: Callable[[], Awaitable[Any]], calls: int, out: list[float]) -> None:
    for _ in range(calls):
        start = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - start)


def _summary(samples: list[float]) -> dict[str, Any]:
    samples = sorted(samples)
    return {"n": len(samples), "p50_ms": round(percentile(samples, 50) * 1e3, 3),
            "p99_ms": round(percentile(samples, 99) * 1e3, 3),
            "mean_ms": round(sum(samples) / len(samples) * 1e3, 3)}


FLOORS = ("etcd-raw", "etcd-v3lock")


async def run(address: str, etcd: str, calls: int, rounds: int) -> dict[str, Any]:
    target = Target(address, etcd, 0, f"guard-{time.monotonic_ns()}")
    floors = [await opener(name, target)(0) for name in FLOORS]
    with FakeOpenAI.start_in_thread(response_seconds=0.0) as fake:
        plain = openai.AsyncOpenAI(base_url=fake.base_url, api_key="bench", max_retries=0)
        locks = AsyncLockClient(address, owner="bench-guard")
        guard = AsyncGuardedOpenAI(plain, locks)
        try:
            conv = (await plain.conversations.create()).id

            async def direct() -> None:
                await plain.responses.create(conversation=conv, model="m", input="hi")

            async def guarded() -> None:
                await guard.responses.create(conversation=conv, model="m", input="hi")

            paths: dict[str, Callable[[], Awaitable[Any]]] = {
                "direct": direct, "guarded": guarded,
                **{name: cycle.once for name, cycle in zip(FLOORS, floors, strict=True)}}
            for fn in paths.values():  # warm-up: connections, first-call costs
                await _timed(fn, 10, [])
            times: dict[str, list[float]] = {name: [] for name in paths}
            for r in range(rounds):
                order = list(paths) if r % 2 == 0 else list(reversed(paths))
                for name in order:
                    await _timed(paths[name], calls, times[name])
        finally:
            await locks.close()
            await plain.close()
            for cycle in floors:
                await cycle.close()
    d, g = _summary(times["direct"]), _summary(times["guarded"])
    return {"rounds": rounds, "calls_per_round": calls, "direct": d, "guarded": g,
            "added_p50_ms": round(g["p50_ms"] - d["p50_ms"], 3),
            "added_p99_ms": round(g["p99_ms"] - d["p99_ms"], 3),
            "floors": {name: _summary(times[name]) for name in FLOORS}}
