"""etcd-specific promises: several stateless replicas on one etcd, etcd outages (UNAVAILABLE
within the deadline, health NOT_SERVING, recovery) and watches that survive an etcd restart.
Each runs on the current and on the oldest supported etcd release."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio
from etcd_server import ETCD_RELEASES, EtcdServer
from grpc_health.v1 import health_pb2, health_pb2_grpc
from harness import Coordinator, etcd_config, eventually, rpc_error

from threadlock.v1 import lock_pb2 as pb

pytestmark = [pytest.mark.asyncio,
              pytest.mark.parametrize("etcd_release", ETCD_RELEASES, indirect=True)]


@pytest_asyncio.fixture
async def replicas(shared_etcd: EtcdServer, key_prefix: str) -> AsyncIterator[list[Coordinator]]:
    """Two replicas on the shared etcd, as behind one Kubernetes Service."""
    reps = [await Coordinator(etcd_config(shared_etcd.endpoint, key_prefix)).start()
            for _ in range(2)]
    yield reps
    for r in reps:
        await r.stop()


@pytest_asyncio.fixture
async def lonely(fresh_etcd: EtcdServer, key_prefix: str) -> AsyncIterator[Coordinator]:
    """A replica on an etcd of its own, which the test may stop and restart."""
    c = await Coordinator(etcd_config(fresh_etcd.endpoint, key_prefix)).start()
    yield c
    await c.stop()


async def _health(c: Coordinator) -> int:
    assert c.channel is not None
    stub = health_pb2_grpc.HealthStub(c.channel)
    resp = await stub.Check(health_pb2.HealthCheckRequest(service="threadlock.v1.LockService"),
                            timeout=5)
    return int(resp.status)


# --- replicas --------------------------------------------------------------------------------

async def test_any_replica_serves_any_call(replicas: list[Coordinator]) -> None:
    a, b = replicas
    lease = await a.lease("conv_x", "w1", ttl=5)
    busy = await b.acquire("conv_x", "w2")
    assert busy.busy.holder.fencing_token == lease.fencing_token
    await b.stub.KeepAlive(pb.KeepAliveRequest(lease_token=lease.lease_token), timeout=5)
    assert (await b.status("conv_x"))[0].holder.owner == "w1"
    assert await b.release(lease.lease_token)
    assert await a.status("conv_x") == []


async def test_waiter_on_one_replica_is_granted_when_holder_on_another_releases(
        replicas: list[Coordinator]) -> None:
    a, b = replicas
    holder = await a.lease("conv_y", "on-a")
    waiter = asyncio.create_task(b.lease("conv_y", "on-b", wait=30))
    await eventually(functools.partial(_queued, a, "conv_y", 1))
    start = time.monotonic()
    await a.release(holder.lease_token)
    lease = await asyncio.wait_for(waiter, 30)
    assert lease.owner == "on-b" and lease.fencing_token > holder.fencing_token
    assert time.monotonic() - start < 5  # woken by a watch, not by a poll or a TTL


async def _queued(c: Coordinator, key: str, n: int) -> bool:
    return len(await c.waiters(key)) == n


async def test_fifo_and_exclusion_across_replicas(replicas: list[Coordinator]) -> None:
    holder = await replicas[0].lease("conv_z", "first")
    names = [f"w{i}" for i in range(6)]
    served: list[str] = []
    inside = 0

    async def wait_then_hold(c: Coordinator, name: str) -> None:
        nonlocal inside
        lease = await c.lease("conv_z", name, wait=60, timeout=90)
        inside += 1
        assert inside == 1
        served.append(name)
        await asyncio.sleep(0.01)
        inside -= 1
        await c.release(lease.lease_token)

    tasks = []
    for i, name in enumerate(names):
        tasks.append(asyncio.create_task(wait_then_hold(replicas[i % 2], name)))
        await eventually(functools.partial(_queued, replicas[0], "conv_z", i + 1))
    await replicas[1].release(holder.lease_token)
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    assert served == names


# --- etcd outages ----------------------------------------------------------------------------

async def test_etcd_down_fails_unavailable_within_deadline_and_recovers(
        lonely: Coordinator, fresh_etcd: EtcdServer) -> None:
    held = await lonely.lease("conv_o", "before", ttl=30)
    assert await _health(lonely) == health_pb2.HealthCheckResponse.SERVING
    fresh_etcd.stop()
    for call in (lonely.acquire("conv_o2", "during", timeout=3),
                 lonely.acquire("conv_o", "during", wait=10, timeout=3),
                 lonely.stub.KeepAlive(pb.KeepAliveRequest(lease_token=held.lease_token),
                                       timeout=3),
                 lonely.stub.Status(pb.StatusRequest(prefix=""), timeout=3),
                 lonely.stub.Release(pb.ReleaseRequest(lease_token=held.lease_token),
                                     timeout=3)):
        start = time.monotonic()
        err = await rpc_error(call)
        assert err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
        assert time.monotonic() - start < 4.0  # the deadline (3 s), never a hang
    await eventually(functools.partial(_health_is, lonely,
                                       health_pb2.HealthCheckResponse.NOT_SERVING))
    fresh_etcd.restart()
    await eventually(functools.partial(_health_is, lonely,
                                       health_pb2.HealthCheckResponse.SERVING))
    # Nothing was lost or granted twice: the holder from before still holds.
    busy = await lonely.acquire("conv_o", "after")
    assert busy.busy.holder.fencing_token == held.fencing_token
    assert await lonely.release(held.lease_token)
    assert (await lonely.acquire("conv_o", "after")).WhichOneof("result") == "lease"


async def _health_is(c: Coordinator, status: int) -> bool:
    return await _health(c) == status


async def test_unavailable_acquire_is_safe_to_retry_with_its_request_id(
        lonely: Coordinator, fresh_etcd: EtcdServer) -> None:
    fresh_etcd.stop()
    err = await rpc_error(lonely.acquire("conv_r", "w1", request_id="r-1", timeout=2))
    assert err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    fresh_etcd.restart()
    first = await eventually(functools.partial(_try_lease, lonely, "conv_r", "r-1"))
    assert first is not None
    again = await lonely.lease("conv_r", "w1", request_id="r-1")
    assert again.lease_token == first.lease_token
    (state,) = await lonely.status("conv_r")
    assert not state.waiters


async def _try_lease(c: Coordinator, key: str, request_id: str) -> pb.Lease | None:
    try:
        return await c.lease(key, "w1", request_id=request_id, timeout=3)
    except grpc.aio.AioRpcError:
        return None


async def test_waiter_survives_an_etcd_restart(lonely: Coordinator,
                                               fresh_etcd: EtcdServer) -> None:
    holder = await lonely.lease("conv_w", "holder", ttl=60)
    waiter = asyncio.create_task(lonely.lease("conv_w", "waiter", ttl=60, wait=60, timeout=90))
    await eventually(functools.partial(_queued, lonely, "conv_w", 1))
    fresh_etcd.stop()
    fresh_etcd.restart()
    await eventually(functools.partial(_health_is, lonely,
                                       health_pb2.HealthCheckResponse.SERVING))
    # The release happens after the restart: only a resumed watch can see it.
    await lonely.release(holder.lease_token)
    lease = await asyncio.wait_for(waiter, 30)
    assert lease.owner == "waiter" and lease.fencing_token > holder.fencing_token
