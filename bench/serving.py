"""The serving cost alone: the coordinator's CPU per lock+unlock through the Python SDK with
`transport="unary"` and with `transport="stream"`, on the embedded (memory) backend, so that
no etcd call hides what the transport costs. Run by hand (not in bench/run.py, which measures
against etcd):

    python -m bench.serving --clients 32 --rounds 5 --seconds 5

Rounds alternate the two transports on one coordinator process; CPU comes from /proc for the
coordinator's pid (procs.py), pairs from the closed loop (loadgen.py). Prints, per transport,
the pooled pairs/s and coordinator CPU ms per pair, and the stream/unary ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.loadgen import closed_loop
from bench.procs import CpuMeter, load_average
from bench.stack import ROOT
from bench.systems import Target, opener
from threadlock.local_etcd import free_port
from threadlock.local_serve import wait_serving

TRANSPORTS = ("sdk-unary", "sdk-stream")


async def measure(address: str, pid: int, clients: int, rounds: int, warmup: float,
                  seconds: float) -> dict[str, dict[str, float]]:
    totals = {s: {"pairs": 0.0, "seconds": 0.0, "cpu": 0.0, "wall": 0.0} for s in TRANSPORTS}
    for r in range(rounds):
        for system in TRANSPORTS[r % 2:] + TRANSPORTS[:r % 2]:
            target = Target(address, "", 0, f"s-{system}-{time.monotonic_ns()}")
            meter = CpuMeter({"coordinator": pid})
            meter.start()
            result = await closed_loop(opener(system, target), clients, warmup, seconds)
            share = meter.stop()
            t = totals[system]
            t["pairs"] += result.all_ops
            t["wall"] += share.wall
            t["cpu"] += share.seconds["coordinator"]
            print(f"  round {r + 1} {system:10s} {result.ops_per_s:8.1f} pairs/s, errors "
                  f"{result.errors}, coordinator {share.per_wall()['coordinator']:.2f} core, "
                  f"other {share.per_wall()['other']:.2f}", flush=True)
    return totals


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench.serving", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--seconds", type=float, default=5.0)
    a = p.parse_args()
    address = f"127.0.0.1:{free_port()}"
    with tempfile.TemporaryDirectory(prefix="threadlock-serving-") as tmp:
        log = (Path(tmp) / "coordinator.log").open("wb")
        env = {**os.environ, "THREADLOCK_LISTEN": address, "THREADLOCK_SHUTDOWN_GRACE": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "threadlock", "serve"], env=env,
                                cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)
        log.close()
        try:
            wait_serving(address, proc, 60.0)
            print(f"memory backend at {address}; load average {load_average():.1f}", flush=True)
            totals = asyncio.run(measure(address, proc.pid, a.clients, a.rounds, a.warmup,
                                         a.seconds))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    per_pair = {}
    for system, t in totals.items():
        per_pair[system] = 1e3 * t["cpu"] / t["pairs"] if t["pairs"] else 0.0
        print(f"{system:10s} {t['pairs'] / t['wall']:8.1f} pairs/s (incl. warm-up), "
              f"coordinator {per_pair[system]:.3f} ms CPU per pair")
    if per_pair["sdk-unary"]:
        print(f"stream / unary CPU per pair: {per_pair['sdk-stream'] / per_pair['sdk-unary']:.2f}"
              f"; load average now {load_average():.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
