"""Processes that die: a SIGKILLed holder loses its lock when its TTL lapses, and the next
waiter gets it within TTL + 1 s of the kill (a try-once newcomer does not jump ahead); a
SIGKILLed waiter leaves the queue at once, long before its TTL; a coordinator SIGKILLed while
it queues a session's Acquire leaves no slot behind, though the session lives on."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import grpc.aio
import pytest
from etcd_server import EtcdServer, free_port
from harness import Coordinator, dur, etcd_config, eventually, wait_serving

from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc

pytestmark = pytest.mark.asyncio

TTL = 2


async def _queued(c: Coordinator, key: str) -> bool:
    return len(await c.waiters(key)) == 1


async def test_sigkilled_holder_frees_the_lock_within_ttl_plus_one_second(
        coord: Coordinator) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("holder_proc.py")), coord.address,
        "conv_crash", str(TTL), stdout=asyncio.subprocess.PIPE)
    try:
        assert holder.stdout is not None
        doomed_token = int(await asyncio.wait_for(holder.stdout.readline(), 30))
        waiter = asyncio.create_task(coord.lease("conv_crash", "survivor", wait=30, timeout=60))
        await eventually(functools.partial(_queued, coord, "conv_crash"))
        await asyncio.sleep(0.5)  # let the holder renew at least once more
        holder.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        # While the dead holder's lease runs out, a try-once newcomer stays out.
        newcomer = await coord.acquire("conv_crash", "newcomer")
        assert newcomer.WhichOneof("result") == "busy"
        lease = await asyncio.wait_for(waiter, 30)
        freed_after = time.monotonic() - killed
    finally:
        if holder.returncode is None:
            holder.kill()
        await holder.wait()
    assert lease.owner == "survivor" and lease.fencing_token > doomed_token
    print(f"lock came back {freed_after:.2f}s after the kill (TTL {TTL}s)")  # seen with -s
    assert freed_after <= TTL + 1.0, f"lock came back {freed_after:.2f}s after the kill"


async def test_sigkilled_waiter_leaves_the_queue_at_once(coord: Coordinator) -> None:
    await coord.lease("conv_gone", "holder", ttl=60)
    waiter = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("holder_proc.py")), coord.address,
        "conv_gone", "60", "60")
    try:
        await eventually(functools.partial(_queued, coord, "conv_gone"))
        waiter.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        await eventually(lambda: _no_waiters(coord, "conv_gone"))
        # The disconnect removed the slot, not the 60 s TTL of its lease.
        assert time.monotonic() - killed < 10
    finally:
        if waiter.returncode is None:
            waiter.kill()
        await waiter.wait()


async def _no_waiters(c: Coordinator, key: str) -> bool:
    return not await c.waiters(key)


async def test_session_waiter_of_a_killed_coordinator_leaves_no_slot(
        etcd: EtcdServer, key_prefix: str, tmp_path: Path) -> None:
    """A session outlives the coordinator that queued one of its Acquires: the queue slot
    waits on a lease of its own, which lapses when that coordinator dies."""
    here = await Coordinator(etcd_config(etcd.endpoint, key_prefix)).start()
    port = free_port()
    env = {**os.environ, "THREADLOCK_LISTEN": f"127.0.0.1:{port}",
           "THREADLOCK_ETCD_ENDPOINTS": etcd.endpoint, "THREADLOCK_KEY_PREFIX": key_prefix}
    # A Popen, not asyncio: wait_serving polls it from a thread.
    doomed = subprocess.Popen([sys.executable, "-m", "threadlock", "serve"], env=env,  # noqa: ASYNC220
                              stdout=(tmp_path / "doomed.log").open("w"),
                              stderr=subprocess.STDOUT, text=True)
    try:
        await asyncio.to_thread(wait_serving, f"127.0.0.1:{port}", doomed)
        session = await here.stub.OpenSession(pb.OpenSessionRequest(owner="proc", ttl=dur(30)),
                                              timeout=10)
        await here.lease("conv_sw", "holder", ttl=60)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = lock_pb2_grpc.LockServiceStub(channel)
            call = stub.Acquire(pb.AcquireRequest(key="conv_sw", owner="proc", wait=dur(60),
                                                  session_id=session.session_id), timeout=90)
            await eventually(functools.partial(_queued, here, "conv_sw"))
            doomed.send_signal(signal.SIGKILL)
            with contextlib.suppress(grpc.aio.AioRpcError):
                await call

        async def slot_gone() -> bool:  # the session itself is kept alive meanwhile
            await here.stub.KeepAlive(pb.KeepAliveRequest(session_id=session.session_id),
                                      timeout=10)
            return await _no_waiters(here, "conv_sw")

        await eventually(slot_gone, timeout=30, interval=0.5)
    finally:
        if doomed.poll() is None:
            doomed.kill()
        doomed.wait()
        await here.stop()
