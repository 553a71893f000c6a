"""Processes that die: a SIGKILLed holder loses its lock when its TTL lapses, and the next
waiter gets it within TTL + 1 s of the kill (a try-once newcomer does not jump ahead); a
SIGKILLed waiter leaves the queue at once, long before its TTL."""

from __future__ import annotations

import asyncio
import functools
import signal
import sys
import time
from pathlib import Path

import pytest
from harness import Coordinator, eventually

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
