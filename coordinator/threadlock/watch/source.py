"""What a store offers the event hub: a consistent snapshot, and its changes after a
revision, grouped by revision. The embedded store (memory_source.py) and etcd
(etcd_source.py) implement it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from threadlock.errors import LockError
from threadlock.store import Contender
from threadlock.watch.events import Change


class Compacted(LockError):
    """The changes after the asked revision are no longer kept (etcd compacted them, or they
    fell out of the embedded store's history)."""


@dataclass(frozen=True)
class Snapshot:
    epoch: str  # names one history: the etcd cluster id, or one embedded store's lifetime
    revision: int  # the snapshot holds every change up to and including this revision
    contenders: list[Contender]


@dataclass(frozen=True)
class Batch:
    """All the changes of one revision."""

    revision: int
    changes: list[Change]


class Source(Protocol):
    async def snapshot(self, deadline: float) -> Snapshot:
        """Every contender at one revision; Unavailable if the store does not answer by
        `deadline` (time.monotonic())."""

    def changes(self, after: int, until: int = 0) -> AsyncIterator[Batch]:
        """The changes of each revision after `after`, in revision order: for ever, or, with
        `until`, ending once every revision up to `until` was delivered. Raises Compacted when
        the changes right after `after` are gone; Unavailable when the store cannot serve."""
        ...
