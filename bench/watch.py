"""Watch: W watchers (Watch streams on the bench coordinator, in P processes of their own)
while lock events arrive at a target rate; measured: the coordinator's CPU, the events
delivered, and the lag of GRANTED events from when the grant was written to when a watcher
received it (p50/p99), the delivery lag (RELEASED events: from when the coordinator saw the
change to receipt), and any watcher the coordinator cut off.

The load: grant + release of distinct keys (2 events per cycle) at `rate` events/s. It is
written by the bench process through `EtcdStore` - the very etcd transactions a coordinator
replica issues for an Acquire and a Release - because the one coordinator on 2 shared cores
tops out near 300 Acquire+Release pairs/s over gRPC (see the uncontended phase), below the
1,000 events/s asked for; the watching coordinator sees them exactly as it would see another
replica's grants. Two scenarios:
- spread: watcher i watches its own prefix, the load cycles over the W prefixes (each watcher
  gets rate/W events/s; the coordinator delivers `rate` events/s in all);
- fanout: every watcher watches the whole prefix (the coordinator delivers W x rate events/s).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Any

from bench.procs import CpuMeter
from bench.stack import ROOT, Stack
from threadlock.etcd.store import EtcdStore
from threadlock.internal import state_pb2
from threadlock.store import Outcome

PER_PROCESS = 25
STEP_TIMEOUT = 60.0


async def _load(store: EtcdStore, prefix: str, watchers: int, rate: float, seconds: float,
                concurrency: int = 64) -> dict[str, Any]:
    """Grant + release cycles at rate/2 per second over `concurrency` tasks, for `seconds`."""
    deadline = time.monotonic() + seconds
    lease = await store.grant(120, time.monotonic() + 10)
    interval = concurrency * 2 / rate  # seconds between two cycles of one task
    done = errors = 0
    per_prefix = [0] * watchers  # cycles written under each watcher's prefix

    async def task(t: int) -> None:
        nonlocal done, errors
        n, start = 0, time.monotonic() + t * interval / concurrency
        while True:
            at = start + n * interval
            if at >= deadline:
                return
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            which = (t + n * concurrency) % watchers
            key = f"{prefix}{which}-{t}-{n}"
            uid = uuid.uuid4().hex
            entry = state_pb2.Entry(owner=f"load{t}", ttl_seconds=120,
                                    queued_at_us=time.time_ns() // 1000, attempt=uid)
            try:
                r = await store.enqueue(key, uid, entry, lease, False, time.monotonic() + 5)
                if r.outcome is Outcome.GRANTED and r.contender is not None:
                    await store.remove(key, uid, r.contender.revision, lease, lease,
                                       time.monotonic() + 5)
                    done += 1
                    per_prefix[which] += 1
                else:
                    errors += 1
            except Exception:
                errors += 1
            n += 1

    began = time.monotonic()
    await asyncio.gather(*(task(t) for t in range(concurrency)))
    took = time.monotonic() - began  # longer than `seconds` when writes fell behind
    await store.revoke(lease, time.monotonic() + 10)
    return {"cycles": done, "errors": errors, "events_per_s": round(2 * done / took, 1),
            "seconds": round(took, 2),
            "per_prefix": per_prefix}


async def scenario(stack: Stack, name: str, watchers: int, rate: float,
                   seconds: float) -> dict[str, Any]:
    prefix = f"watch-{name}-{uuid.uuid4().hex[:6]}-"
    procs = []
    for first in range(0, watchers, PER_PROCESS):
        n = min(PER_PROCESS, watchers - first)
        procs.append(await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.watchers", stack.address, prefix, str(n),
            str(first), "spread" if name == "spread" else "all", cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.PIPE))
    store = await EtcdStore.connect([stack.etcd.endpoint], stack.prefix, None, 5.0)
    try:
        for p in procs:
            assert p.stdout is not None
            line = await asyncio.wait_for(p.stdout.readline(), STEP_TIMEOUT)
            if line.strip() != b"ready":
                raise RuntimeError(f"watchers did not start: {line!r}")
        meter = CpuMeter(stack.pids)  # the watcher processes report their own CPU
        meter.start()
        load = await _load(store, prefix, watchers, rate, seconds)
        per_prefix = load.pop("per_prefix")
        for i, p in enumerate(procs):  # what each process must receive
            assert p.stdin is not None
            mine = per_prefix[i * PER_PROCESS:(i + 1) * PER_PROCESS]
            n = len(mine)
            want = 2 * (sum(mine) if name == "spread" else load["cycles"] * n)
            p.stdin.write(f"expect {want}\n".encode())
            await p.stdin.drain()
        outs = []
        for p in procs:
            assert p.stdout is not None
            outs.append(json.loads(await asyncio.wait_for(p.stdout.readline(), STEP_TIMEOUT)))
            await asyncio.wait_for(p.wait(), STEP_TIMEOUT)
        share = meter.stop()  # the load, and the watchers draining what it wrote
        cpu = share.per_wall()
        cpu["watchers"] = round(sum(o["cpu_s"] for o in outs) / share.wall, 3)
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
        await store.close()
    total = sum(o["events"] for o in outs)
    expected = 2 * load["cycles"] * (1 if name == "spread" else watchers)
    ended: dict[str, int] = {}
    for o in outs:
        for k, v in o["ended"].items():
            ended[k] = ended.get(k, 0) + v
    # Percentiles of the processes' own percentiles: p50 = median of them, p99 = worst.
    p50s = sorted(o["lag_p50_ms"] for o in outs)
    return {"scenario": name, "watchers": watchers, "target_events_per_s": rate,
            "load": load, "delivered": total, "expected_deliveries": expected,
            "delivered_per_s": round(total / max(load["seconds"], 1e-9), 1),
            "lag_p50_ms": p50s[len(p50s) // 2],
            "lag_p99_ms": max(o["lag_p99_ms"] for o in outs),
            "lag_max_ms": max(o["lag_max_ms"] for o in outs),
            "delivery_p50_ms": sorted(o["delivery_p50_ms"] for o in outs)[len(outs) // 2],
            "delivery_p99_ms": max(o["delivery_p99_ms"] for o in outs),
            "cut_off": ended, "cpu_per_wall": cpu}


async def run(stack: Stack, watchers: int, rate: float, seconds: float) -> dict[str, Any]:
    results = []
    for name in ("spread", "fanout"):
        r = await scenario(stack, name, watchers, rate, seconds)
        print(f"  watch {name}: {watchers} watchers, {r['load']['events_per_s']} events/s, "
              f"delivered {r['delivered']}/{r['expected_deliveries']}, lag p50 "
              f"{r['lag_p50_ms']} ms p99 {r['lag_p99_ms']} ms (delivery p50 "
              f"{r['delivery_p50_ms']} p99 {r['delivery_p99_ms']} ms), coordinator CPU "
              f"{r['cpu_per_wall'].get('coordinator')}", flush=True)
        results.append(r)
    return {"watchers": watchers, "rate": rate, "seconds": seconds, "results": results}
