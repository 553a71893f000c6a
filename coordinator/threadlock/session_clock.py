"""What this replica knows of its sessions' expiry, so that a session Acquire need not ask etcd
(LeaseTimeToLive) for the `expires_at` of every grant: a session cycle then costs two etcd
requests instead of three.

What it knows can only be early, never late: another replica may have renewed a session since
(it then lives longer than we say), but nobody can shorten one, and a session that ended makes
the Acquire's own transaction fail. When less than `MIN_LEFT` seconds are known to be left,
or nothing is known, the caller asks etcd and tells us the answer.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadlock.store import Store

MIN_LEFT = 1.0  # below this, ask etcd: the session may well have been renewed elsewhere
MAX_SESSIONS = 100_000  # forget the least recently renewed beyond this many


class SessionClock:
    def __init__(self, max_sessions: int = MAX_SESSIONS) -> None:
        self._known: dict[int, tuple[float, int]] = {}  # lease -> (monotonic expiry, ttl)
        self._max = max_sessions

    def note(self, lease: int, expires: float, ttl: int) -> None:
        """The session `lease` lives at least until `expires` (time.monotonic()); its TTL."""
        self._known.pop(lease, None)  # re-insert: dict order is renewal order
        self._known[lease] = (expires, ttl)
        while len(self._known) > self._max:
            del self._known[next(iter(self._known))]

    def left(self, lease: int) -> tuple[int, int] | None:
        """(whole seconds surely left, ttl), or None when etcd must be asked."""
        known = self._known.get(lease)
        if known is None:
            return None
        remaining = known[0] - time.monotonic()
        if remaining < MIN_LEFT:
            del self._known[lease]
            return None
        return math.floor(remaining), known[1]

    def forget(self, lease: int) -> None:
        self._known.pop(lease, None)


async def session_left(clock: SessionClock, store: Store, lease: int,
                       deadline: float) -> tuple[int, int]:
    """(seconds left, ttl) of the session `lease`: from `clock`, else asked of `store` (and
    remembered); seconds left < 0 if the session is gone."""
    known = clock.left(lease)
    if known is not None:
        return known
    asked = time.monotonic()
    left, ttl = await store.time_to_live(lease, deadline)
    if left >= 0:
        clock.note(lease, asked + left, ttl)
    return left, ttl
