"""Where the status board (status_board.py) learns the lock states: the replica's Watch hub
(threadlock.watch.EventHub), one subscription for every page viewer together.

`HubFeed` keeps, per key, the contenders the hub reported (by fencing token = queue order: the
lowest holds, the rest wait) and tells the board each key's new state as events arrive: a
snapshot first (`board.replace` at SNAPSHOT_END, and again after CURSOR_TOO_OLD or a hub
reload), then one `board.update` per change. Both backends, and locks taken on any replica
(the hub follows the store itself).

Events carry no lease renewals, so the time left is estimated as grant + TTL and corrected by
`refresh`: while anyone views the page, every `refresh_every` seconds up to `refresh_batch` held
keys (round-robin) are read through the Status path for their lease's real expiry. Errors
(etcd down) keep the last picture, are shown on the page (`board.feed_error`) and retried.

    feed = HubFeed(hub, manager, timeout=5.0)
    task = asyncio.create_task(feed.run(board))
"""

from __future__ import annotations

import asyncio
import logging
import time

from threadlock.errors import LockError, Unavailable
from threadlock.locks import LockManager
from threadlock.model import HolderInfo, LockState, WaiterInfo
from threadlock.status_board import StatusBoard
from threadlock.watch import EventHub, Kind, LockEvent

log = logging.getLogger("threadlock.status")

RETRY_MAX = 2.0  # seconds between resubscriptions after the hub failed us, at most
GONE = (Kind.RELEASED, Kind.EXPIRED, Kind.LEFT_QUEUE)

Table = dict[str, dict[int, LockEvent]]  # key -> fencing token -> its latest event


def state_of(key: str, group: dict[int, LockEvent],
             expiries: dict[tuple[str, int], float]) -> LockState | None:
    """The key as Status shows it: the lowest fencing token holds (granted, or about to be),
    the others wait in token order."""
    if not group:
        return None
    first, *rest = (group[t] for t in sorted(group))
    expires = expiries.get((key, first.fencing_token))
    if expires is None:  # no renewal seen: as granted
        start = first.acquired_at or first.queued_at
        expires = start + first.ttl_seconds if first.ttl_seconds else 0.0
    holder = HolderInfo(first.owner, first.fencing_token, first.acquired_at or first.queued_at,
                        expires, dict(first.metadata))
    return LockState(key, holder, [WaiterInfo(e.owner, i, e.queued_at, dict(e.metadata))
                                   for i, e in enumerate(rest, 1)])


class EventTable:
    """The contenders the hub reported, per key; `apply` turns each event into board calls
    (I/O-free: the feed below does the waiting)."""

    def __init__(self) -> None:
        self.table: Table = {}
        self.loading: Table | None = {}  # a snapshot being received (every stream starts so)
        self.expiries: dict[tuple[str, int], float] = {}  # (key, token) -> lease's expiry

    def state(self, key: str) -> LockState | None:
        return state_of(key, self.table.get(key, {}), self.expiries)

    def apply(self, e: LockEvent, board: StatusBoard, now: float) -> None:
        if e.kind is Kind.CURSOR_TOO_OLD:
            self.loading = {}
        elif e.kind is Kind.SNAPSHOT_END:
            self.table, self.loading = self.loading or {}, None
            self.expiries = {k: v for k, v in self.expiries.items()
                             if k[1] in self.table.get(k[0], {})}
            board.set_error("")
            board.replace(s for key in self.table if (s := self.state(key)) is not None)
        elif e.snapshot and self.loading is not None:
            self.loading.setdefault(e.key, {})[e.fencing_token] = e
        elif self.loading is None:  # a change, live
            group = self.table.setdefault(e.key, {})
            if e.kind is Kind.GRANTED:
                # No queued_at: granted at arrival (nothing to wait for).
                board.record(e.key, wait=e.acquired_at - (e.queued_at or e.acquired_at))
            elif e.kind in (Kind.RELEASED, Kind.EXPIRED) and e.acquired_at:
                board.record(e.key, hold=now - e.acquired_at)
            if e.kind in GONE:
                group.pop(e.fencing_token, None)
                self.expiries.pop((e.key, e.fencing_token), None)
                if not group:
                    del self.table[e.key]
            else:  # GRANTED, QUEUED, METADATA_CHANGED: the contender as it is now
                group[e.fencing_token] = e
            board.update(e.key, self.state(e.key))


class HubFeed:
    def __init__(self, hub: EventHub, manager: LockManager, *, timeout: float = 5.0,
                 refresh_every: float = 1.0, refresh_batch: int = 50) -> None:
        self.hub = hub
        self.manager = manager
        self.timeout = timeout
        self.refresh_every = refresh_every
        self.refresh_batch = refresh_batch
        self.events = EventTable()
        self._turn = 0  # round-robin position of `refresh`

    async def run(self, board: StatusBoard) -> None:
        """Until cancelled: follow the hub, and refresh expiries while someone looks."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.follow(board))
            group.create_task(self.refresh(board))

    async def follow(self, board: StatusBoard) -> None:
        delay = 0.05
        while True:
            self.events.loading = {}  # a fresh subscription starts with a snapshot
            try:
                async for event in self.hub.subscribe(""):
                    self.events.apply(event, board, time.time())
                    delay = 0.05
            except Exception as exc:  # Unavailable, SlowWatcher, ...: start over
                if not board.feed_error:
                    log.warning("status page: watching the locks failed: %s", exc)
                board.set_error(str(exc) or type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def refresh(self, board: StatusBoard) -> None:
        while True:
            await asyncio.sleep(self.refresh_every)
            if board.viewers:
                await self.refresh_once(board)

    async def refresh_once(self, board: StatusBoard) -> None:
        """Read the real expiry of up to `refresh_batch` held keys' leases."""
        keys = sorted(self.events.table)
        if not keys:
            return
        start = self._turn % len(keys)
        batch = (keys[start:] + keys[:start])[:self.refresh_batch]
        self._turn = start + len(batch)
        for key in batch:
            try:
                states, _ = await self.manager.status(key, None, 1, "", self.timeout)
            except Unavailable as exc:  # the hub's own errors tell the page; next round
                log.debug("status page: reading %s failed: %s", key, exc)
                return
            except LockError as exc:  # this key only (e.g. gone meanwhile): the next one
                log.debug("status page: reading %s failed: %s", key, exc)
                continue
            holder = states[0].holder if states else None
            # The table may have been replaced (a new snapshot) while we read: look it up now.
            if holder is not None and holder.fencing_token in self.events.table.get(key, {}):
                if holder.expires_at:
                    self.events.expiries[(key, holder.fencing_token)] = holder.expires_at
                board.update(key, self.events.state(key))
