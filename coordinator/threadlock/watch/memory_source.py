"""The embedded store's change feed: MemoryStore records each change of a contender (and each
release tombstone) here, with the revision of the write; the event hub reads it as its
`Source`. A bounded history (`capacity` changes) lets a watcher resume from a recent cursor;
an older one is Compacted, as etcd says of a compacted revision."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable

from threadlock.store import Contender
from threadlock.watch.events import Change
from threadlock.watch.source import Batch, Compacted, Snapshot

DEFAULT_CAPACITY = 100_000


class ChangeFeed:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        # A new epoch per store: cursors from an earlier process (whose locks are gone) are
        # recognised as too old instead of being compared with unrelated revisions.
        self.epoch = "m" + secrets.token_hex(6)
        self._log: deque[Change] = deque(maxlen=capacity)
        self._floor = 0  # every change after this revision is in _log
        self._count = 0  # changes recorded so far: a reader's place in the log
        self._tick: asyncio.Event | None = None
        self._contenders: Callable[[], list[Contender]] = list
        self._revision: Callable[[], int] = lambda: 0

    def attach(self, contenders: Callable[[], list[Contender]],
               revision: Callable[[], int]) -> None:
        """How the feed reads the store it belongs to (MemoryStore calls this)."""
        self._contenders, self._revision = contenders, revision
        self._floor = revision()

    def record(self, change: Change) -> None:
        if len(self._log) == self._log.maxlen:
            # The oldest change falls out; its revision is no longer complete here.
            self._floor = self._log[0].revision
        self._log.append(change)
        self._count += 1
        if self._tick is not None:
            self._tick.set()
            self._tick = None

    async def snapshot(self, deadline: float) -> Snapshot:
        return Snapshot(self.epoch, self._revision(), self._contenders())

    def _after(self, revision: int) -> tuple[list[Change], int]:
        """The logged changes after `revision`, and the sequence number after the last."""
        if revision < self._floor:
            raise Compacted(f"changes after revision {revision} are no longer kept")
        # The log is in revision order: walk back from the newest while still after it.
        out = list(itertools.takewhile(lambda ch: ch.revision > revision, reversed(self._log)))
        out.reverse()
        return out, self._count

    async def changes(self, after: int, until: int = 0) -> AsyncIterator[Batch]:
        # Everything runs on one loop: a change is logged in the same step as the write, so
        # the log holds every change up to the store's current revision at any await point.
        pending, seq = self._after(after)
        while True:
            for batch in _group(pending):
                if until and batch.revision > until:
                    return
                yield batch
            if until:
                return
            if self._tick is None:
                self._tick = asyncio.Event()
            await self._tick.wait()
            new = self._count - seq
            if new > len(self._log):
                raise Compacted("this watcher fell behind the embedded store's history")
            pending = list(itertools.islice(reversed(self._log), new))
            pending.reverse()
            seq = self._count


def _group(changes: list[Change]) -> list[Batch]:
    out: list[Batch] = []
    for ch in changes:
        if out and out[-1].revision == ch.revision:
            out[-1].changes.append(ch)
        else:
            out.append(Batch(ch.revision, [ch]))
    return out
