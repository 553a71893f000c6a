"""The benchmark run: start the stack once (stack.py), run the phases asked for on it, write
the results (report.py) and print the Markdown. Each phase's CPU per process is recorded too.

    python bench/run.py [--quick] [--only uncontended,contended,guard,scale,crash,watch]
                        [--seconds S]
                        [--out bench/results] [--no-fsync] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import contended, crash, guard_latency, profile, report, scale, uncontended, watch
from bench.procs import CpuMeter
from bench.stack import ROOT, Stack
from bench.systems import SYSTEMS

PHASES = ("uncontended", "contended", "guard", "scale", "crash", "watch")


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="short points and small sizes (a smoke run, not a measurement)")
    p.add_argument("--only", default=",".join(PHASES),
                   help=f"comma-separated phases out of {','.join(PHASES)}")
    p.add_argument("--seconds", type=float,
                   help="measured seconds per round of a point (3; quick 1.5); the contended "
                        "phase measures rounds x this")
    p.add_argument("--warmup", type=float, help="warm-up seconds per round (1; quick 0.5)")
    p.add_argument("--rounds", type=int,
                   help="uncontended rounds: every system once per round, median (3; quick 1)")
    p.add_argument("--clients", default="1,8,32,128", help="uncontended concurrencies")
    p.add_argument("--systems", default=",".join(SYSTEMS), help="uncontended systems")
    p.add_argument("--workers", type=int, default=16, help="contended workers on one key")
    p.add_argument("--scale", help="SESSIONSxLOCKS_PER_SESSION (100x1000; quick 10x200)")
    p.add_argument("--status-samples", type=int, help="Status(key) calls (3000; quick 200)")
    p.add_argument("--guard-calls", type=int,
                   help="T3: calls per round per path (300; quick 50), 3 rounds (quick 1)")
    p.add_argument("--crash-repeats", type=int, help="crash repetitions (5; quick 2)")
    p.add_argument("--crash-ttl", type=int, default=2, help="holder TTL in the crash phase")
    p.add_argument("--watchers", type=int, help="Watch streams in the watch phase (100; "
                                                "quick 10)")
    p.add_argument("--watch-rate", type=float,
                   help="lock events/s in the watch phase (1000; quick 200)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--fsync", action=argparse.BooleanOptionalAction, default=True,
                   help="etcd fsyncs its WAL (its real write path; default on)")
    p.add_argument("--redis", action=argparse.BooleanOptionalAction, default=True,
                   help="the Redis baseline (skipped with a reason if it cannot start)")
    p.add_argument("--profile", action="store_true",
                   help="py-spy the coordinator during its highest-concurrency uncontended "
                        "points (both variants) into --out")
    a = p.parse_args(argv)
    q = a.quick
    a.seconds = a.seconds if a.seconds is not None else (1.5 if q else 3.0)
    a.warmup = a.warmup if a.warmup is not None else (0.5 if q else 1.0)
    a.rounds = a.rounds or (1 if q else 3)
    a.scale = a.scale or ("10x200" if q else "100x1000")
    a.status_samples = a.status_samples or (200 if q else 3000)
    a.crash_repeats = a.crash_repeats or (2 if q else 5)
    a.guard_calls = a.guard_calls or (50 if q else 300)
    a.watchers = a.watchers or (10 if q else 100)
    a.watch_rate = a.watch_rate or (200.0 if q else 1000.0)
    a.phases = [x for x in a.only.split(",") if x]
    unknown = set(a.phases) - set(PHASES)
    if unknown:
        p.error(f"unknown phases: {', '.join(sorted(unknown))}")
    return a


async def phases(stack: Stack, a: argparse.Namespace, res: dict[str, Any]) -> None:
    cpu: dict[str, Any] = {}
    res["phase_cpu_per_wall"] = cpu
    meter = CpuMeter(stack.pids)
    if "uncontended" in a.phases:
        clients = [int(x) for x in a.clients.split(",")]
        systems = [s for s in a.systems.split(",") if s != "redis" or stack.redis is not None]
        meter.start()
        res["uncontended"] = await uncontended.run(stack, systems, clients, a.warmup,
                                                   a.seconds, a.rounds,
                                                   _profiler(stack, a, res, clients))
        res["uncontended"]["redis_skipped"] = stack.redis_skipped
        cpu["uncontended"] = meter.stop().per_wall()
    if "contended" in a.phases:
        meter.start()
        res["contended"] = await contended.run(stack, a.workers, a.warmup,
                                               a.seconds * a.rounds)
        cpu["contended"] = meter.stop().per_wall()
    if "guard" in a.phases:
        meter.start()
        res["guard"] = await guard_latency.run(stack.address, stack.etcd.endpoint, a.guard_calls,
                                               1 if a.quick else 3)
        cpu["guard"] = meter.stop().per_wall()
    if "scale" in a.phases:
        s, _, n = a.scale.partition("x")
        ttl = 3 if a.quick else 15
        meter.start()
        res["scale"] = await scale.run(stack, int(s), int(n), ttl, 64, a.status_samples)
        cpu["scale"] = meter.stop().per_wall()
    if "crash" in a.phases:
        meter.start()
        res["crash"] = await crash.run(stack, a.crash_ttl, a.crash_repeats)
        cpu["crash"] = meter.stop().per_wall()
    if "watch" in a.phases:  # CPU per scenario inside (watcher processes included)
        res["watch"] = await watch.run(stack, a.watchers, a.watch_rate, a.seconds * a.rounds)


def _profiler(stack: Stack, a: argparse.Namespace, res: dict[str, Any],
              clients: list[int]) -> uncontended.Hook | None:
    if not a.profile:
        return None
    assert stack.coordinator is not None
    pid, top = stack.coordinator.pid, max(clients)
    files: dict[str, Any] = {}

    async def during(system: str, n: int, seconds: float) -> None:
        if system.startswith(("coordinator", "sdk-")) and n == top:
            name = f"profile-{system}-{n}"
            files[name] = await asyncio.to_thread(profile.record, pid, seconds, a.out, name)
            res["profile"] = files

    return during


def main(argv: list[str] | None = None) -> int:
    a = parse(sys.argv[1:] if argv is None else argv)
    a.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with (tempfile.TemporaryDirectory(prefix="threadlock-bench-") as tmp,
          Stack(Path(tmp), fsync=a.fsync, redis=a.redis) as stack):
        print(f"stack: etcd {stack.etcd_version} at {stack.etcd.endpoint} "
              f"(fsync {'on' if a.fsync else 'off'}), "
              f"coordinator {stack.address}, redis "
              f"{stack.redis_port or 'skipped: ' + stack.redis_skipped}", flush=True)
        res: dict[str, Any] = {"machine": report.machine(stack.etcd_version, a.fsync),
                               "mode": "quick" if a.quick else "full",
                               "settings": {k: v for k, v in vars(a).items()
                                            if k not in ("out",)}}
        asyncio.run(phases(stack, a, res))
    res["took_s"] = round(time.monotonic() - started, 1)
    print(report.write(res, a.out))
    return 0
