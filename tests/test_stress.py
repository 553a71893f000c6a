"""A bounded race hunt: workers on one key through two replicas (etcd) or one (embedded),
with client deadlines that cut attempts off at random points (queued, being granted, being
answered) and retries with the same request_id on the other replica. A protected resource
checks what the locks promise: nobody inside twice, fencing tokens strictly increasing."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio
from etcd_server import EtcdServer
from harness import Coordinator, etcd_config, memory_config

from threadlock.v1 import lock_pb2 as pb

pytestmark = pytest.mark.asyncio

WORKERS, ITERATIONS = 8, 12
# Same seed, same schedule of cut-offs (timing still varies); THREADLOCK_STRESS_SEED varies it.
SEED = int(os.environ.get("THREADLOCK_STRESS_SEED", "20261121"))
RETRYABLE = {grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE,
             grpc.StatusCode.ABORTED, grpc.StatusCode.CANCELLED}


class Resource:
    """What the lock protects: it refuses overlapping holders and stale fencing tokens."""

    def __init__(self) -> None:
        self.inside = 0
        self.last_token = 0
        self.writes = 0
        self.violations: list[str] = []

    async def write(self, token: int) -> None:
        if self.inside:
            self.violations.append(f"overlap: token {token} entered while another is inside")
        if token <= self.last_token:
            self.violations.append(f"stale token {token} after {self.last_token}")
        self.inside += 1
        self.last_token = max(self.last_token, token)
        await asyncio.sleep(0.003)
        self.inside -= 1
        self.writes += 1


@pytest_asyncio.fixture(params=["memory", "etcd"])
async def replicas(request: pytest.FixtureRequest,
                   key_prefix: str) -> AsyncIterator[list[Coordinator]]:
    if request.param == "memory":
        reps = [await Coordinator(memory_config()).start()]
    else:
        etcd: EtcdServer = request.getfixturevalue("etcd")
        reps = [await Coordinator(etcd_config(etcd.endpoint, key_prefix)).start()
                for _ in range(2)]
    yield reps
    for r in reps:
        await r.stop()


async def test_cut_off_attempts_and_retries_never_overlap(replicas: list[Coordinator]) -> None:
    rng = random.Random(SEED)
    resource = Resource()
    cut_off = 0

    async def acquire(worker: int, i: int) -> pb.Lease:
        nonlocal cut_off
        request_id = f"w{worker}-i{i}"
        for attempt in range(8):
            coord = replicas[(worker + attempt) % len(replicas)]
            # A third of the first attempts get a deadline short enough to cut them off
            # somewhere in the middle; the retry (same request_id) gets a generous one.
            short = attempt == 0 and rng.random() < 0.35
            timeout = rng.uniform(0.02, 0.4) if short else 30.0
            try:
                resp = await coord.acquire("hot", f"worker-{worker}", ttl=5, wait=20,
                                           timeout=timeout, request_id=request_id)
            except grpc.aio.AioRpcError as exc:
                assert exc.code() in RETRYABLE, exc
                cut_off += 1
                continue
            if resp.WhichOneof("result") == "lease":
                return resp.lease
            cut_off += 1  # answered busy just before the short deadline: retry
        raise AssertionError(f"{request_id}: no lease after 8 attempts")

    async def worker(n: int) -> None:
        for i in range(ITERATIONS):
            lease = await acquire(n, i)
            await resource.write(lease.fencing_token)
            await replicas[0].release(lease.lease_token)

    await asyncio.wait_for(asyncio.gather(*(worker(n) for n in range(WORKERS))), 120)
    assert resource.violations == [], f"seed {SEED}"
    assert resource.writes == WORKERS * ITERATIONS
    assert cut_off > 0  # the hunt did cut attempts off
    assert await replicas[0].status("hot") == []  # nothing left behind
