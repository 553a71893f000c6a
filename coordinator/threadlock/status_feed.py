"""Where the status board (status_board.py) learns the store's lock states.

`PollFeed` reads every held key through the LockManager's Status path every `interval`
seconds and hands the board the whole picture (`board.replace`), which works out what changed.
It serves both backends the same way and sees locks taken through any replica, because it reads
the store itself. Errors (etcd down) keep the last picture and are retried next round; the
board's `feed_error` tells the page.

    feed = PollFeed(manager, interval=0.25, timeout=5.0)
    task = asyncio.create_task(feed.run(board))
"""

from __future__ import annotations

import asyncio
import logging
import time

from threadlock.locks import LockManager
from threadlock.model import LockState
from threadlock.status_board import StatusBoard

log = logging.getLogger("threadlock.status")

PAGE = 1000  # keys per Status page (its maximum)


class PollFeed:
    def __init__(self, manager: LockManager, *, interval: float = 0.25,
                 timeout: float = 5.0) -> None:
        self.manager = manager
        self.interval = interval
        self.timeout = timeout

    async def read_all(self) -> list[LockState]:
        """Every held key, all pages, as Status lists them."""
        states: list[LockState] = []
        token = ""
        while True:
            page, token = await self.manager.status(None, "", PAGE, token, self.timeout)
            states.extend(page)
            if not token:
                return states

    async def run(self, board: StatusBoard) -> None:
        """Until cancelled: refresh the board every `interval` seconds."""
        while True:
            try:
                states = await self.read_all()
            except Exception as exc:  # keep the last picture; say so on the page
                if not board.feed_error:
                    log.warning("status page: reading the locks failed: %s", exc)
                board.feed_error = str(exc) or type(exc).__name__
            else:
                board.feed_error = ""
                board.replace(states, time.time())
            await asyncio.sleep(self.interval)
