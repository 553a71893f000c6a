"""Watchers in a process of their own, for the watch benchmark: N Watch streams on ADDRESS
(each on PREFIX, or with `spread`, watcher i on PREFIX + "<i>-"). Prints "ready" once every
stream has its snapshot; then reads "expect <events>" on stdin (what the load wrote for these
watchers) and runs until they received that many, or DRAIN seconds more; then prints one JSON
line: events received, lag of GRANTED events (receipt - the event's time, which for a grant is
when it was written; of RELEASED events, from when the coordinator saw the change), and how
streams ended (a cut-off watcher stops counting).

    python -m bench.watchers ADDRESS PREFIX N FIRST_INDEX [spread]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time

import grpc
import grpc.aio

from bench.loadgen import percentile
from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc

GRANTED, RELEASED = pb.WatchEvent.KIND_GRANTED, pb.WatchEvent.KIND_RELEASED
DRAIN = 30.0


async def main(address: str, prefix: str, n: int, first: int, spread: bool) -> None:
    channels = [grpc.aio.insecure_channel(address) for _ in range(max(1, n // 25))]
    lags: list[float] = []  # GRANTED: from the grant's write (its time) to receipt
    delivery: list[float] = []  # RELEASED: from when the coordinator saw it to receipt
    counts = [0] * n
    ended: dict[str, int] = {}
    ready = [asyncio.Event() for _ in range(n)]
    want = [1 << 62]  # events expected in all; known once the load is written
    arrived = asyncio.Event()
    total = [0]

    async def one(i: int) -> None:
        stub = lock_pb2_grpc.LockServiceStub(channels[i % len(channels)])
        mine = f"{prefix}{first + i}-" if spread else prefix
        try:
            async for resp in stub.Watch(pb.WatchRequest(prefix=mine)):
                received = time.time()
                for e in resp.events:
                    if e.kind == pb.WatchEvent.KIND_SNAPSHOT_END:
                        ready[i].set()
                        continue
                    counts[i] += 1
                    total[0] += 1
                    if e.snapshot:
                        continue
                    lag = received - (e.time.seconds + e.time.nanos / 1e9)
                    if e.kind == GRANTED:
                        lags.append(lag)
                    elif e.kind == RELEASED:
                        delivery.append(lag)
                if total[0] >= want[0]:
                    arrived.set()
        except grpc.aio.AioRpcError as exc:
            key = f"{exc.code().name}: {(exc.details() or '')[:40]}"
            ended[key] = ended.get(key, 0) + 1

    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 60)
    print("ready", flush=True)  # the phase starts its load once every watcher is in place
    cpu0 = time.process_time()
    line = await asyncio.to_thread(sys.stdin.readline)
    expected = int(line.split()[1])
    want[0] = expected
    if sum(counts) >= expected:
        arrived.set()
    with contextlib.suppress(TimeoutError):  # a short count shows in the report
        await asyncio.wait_for(arrived.wait(), DRAIN)
    for t in tasks:
        t.cancel()
    with contextlib.suppress(BaseException):
        await asyncio.gather(*tasks, return_exceptions=True)
    lat, dl = sorted(lags), sorted(delivery)
    print(json.dumps({"events": sum(counts), "watchers": n, "lag_samples": len(lat),
                      "lag_p50_ms": round(percentile(lat, 50) * 1e3, 2),
                      "lag_p99_ms": round(percentile(lat, 99) * 1e3, 2),
                      "lag_max_ms": round((lat[-1] if lat else 0.0) * 1e3, 2),
                      "delivery_p50_ms": round(percentile(dl, 50) * 1e3, 2),
                      "delivery_p99_ms": round(percentile(dl, 99) * 1e3, 2),
                      "ended": ended, "cpu_s": round(time.process_time() - cpu0, 3)}),
          flush=True)
    for ch in channels:
        await ch.close()


if __name__ == "__main__":
    a = sys.argv[1:]
    asyncio.run(main(a[0], a[1], int(a[2]), int(a[3]), len(a) > 4 and a[4] == "spread"))
