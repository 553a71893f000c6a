"""A holder process that is SIGKILLed loses its lock when its TTL lapses, and the next waiter
gets it within TTL + 1 s of the kill; a try-once newcomer does not jump ahead of that waiter."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import subprocess
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
    holder = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("holder_proc.py")), coord.address,
         "conv_crash", str(TTL)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(holder.stdout.readline), 30)
        doomed_token = int(line)
        waiter = asyncio.create_task(coord.lease("conv_crash", "survivor", wait=30, timeout=60))
        await eventually(functools.partial(_queued, coord, "conv_crash"))
        await asyncio.sleep(0.5)  # let the holder renew at least once more
        os.kill(holder.pid, signal.SIGKILL)
        killed = time.monotonic()
        # While the dead holder's lease runs out, a try-once newcomer stays out.
        newcomer = await coord.acquire("conv_crash", "newcomer")
        assert newcomer.WhichOneof("result") == "busy"
        lease = await asyncio.wait_for(waiter, 30)
        freed_after = time.monotonic() - killed
    finally:
        holder.kill()
        holder.wait()
    assert lease.owner == "survivor" and lease.fencing_token > doomed_token
    assert freed_after <= TTL + 1.0, f"lock came back {freed_after:.2f}s after the kill"
