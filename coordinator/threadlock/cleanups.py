"""Cleanup steps (leave a queue, revoke a lease) that must finish even when the call that
needs them was cancelled or ran out of time, without making its answer late.

Each step runs as a task of its own. The caller waits for it only until its own deadline (or
not at all: `start`); after that it finishes in the background. A step that fails is retried
when `retry` is set: for contenders under a session no lease expiry would remove them for the
session's whole life, and a lock's own lease may last an hour. `close()` lets steps in flight
finish (bounded) and drops the rest: whatever they would have deleted lives on a lease, which
ends on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from threadlock.timeouts import within

log = logging.getLogger("threadlock.cleanups")

TIMEOUT = 5.0  # a fresh budget per cleanup step: the caller's may be spent already
RETRY_FOR = 300.0  # how long a failed session cleanup is retried


def fresh_deadline() -> float:
    return time.monotonic() + TIMEOUT


class Cleanups:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    async def run(self, step: Callable[[], Awaitable[object]], deadline: float, *,
                  retry: bool) -> None:
        task = self.start(step, retry=retry)
        if task is None:
            return
        with contextlib.suppress(TimeoutError):
            await within(asyncio.shield(task), deadline - time.monotonic())

    def start(self, step: Callable[[], Awaitable[object]], *,
              retry: bool) -> asyncio.Task[None] | None:
        """Start `step` in the background, for a caller that need not wait for it."""
        if self._closed:
            return None
        task = asyncio.create_task(self._attempts(step, retry))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _attempts(self, step: Callable[[], Awaitable[object]], retry: bool) -> None:
        delay, give_up = 0.5, time.monotonic() + (RETRY_FOR if retry else 0)
        while True:
            try:
                await step()
                return
            except Exception as exc:
                if time.monotonic() >= give_up or self._closed:
                    log.warning("cleanup abandoned (what it would remove ends with its lease, "
                                "or with its session): %s", exc)
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def close(self, timeout: float = TIMEOUT) -> None:
        self._closed = True
        if self._tasks and timeout > 0:
            await asyncio.wait(self._tasks, timeout=timeout)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
