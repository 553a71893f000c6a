"""Waiting with a time limit without ever swallowing a cancellation.

On Python 3.11 `asyncio.wait_for` returns the awaited result when its caller is cancelled in
the same loop turn the result arrives (CPython gh-86296; 3.12 rebuilt wait_for on
`asyncio.timeout`). For us that turns a cancelled Acquire whose claim was just answered into
an attempt that carries on and delivers a Grant nobody receives (the lock then stays held
until its TTL), and it skips the cleanup a cancellation must run. `asyncio.timeout` lets a
cancellation through and only turns its own into TimeoutError, so every bounded wait in the
coordinator goes through here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def within(aw: Awaitable[T], seconds: float) -> T:
    """`await aw`, or TimeoutError once `seconds` (<= 0: no time left) have passed. A future `aw` is
    cancelled with the caller (wrap it in `asyncio.shield` to keep it), and a cancellation of
    the caller always propagates, even if `aw` finished in the same loop turn."""
    async with asyncio.timeout(max(seconds, 0.0)):
        return await aw
