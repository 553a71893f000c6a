"""The status page's policy core, free of I/O: the current lock states (holder and waiters per
key), each key's recent wait and hold times, and the fan-out of changes to page viewers.

A feed (status_feed.py) tells the board what the store looks like, either a whole snapshot
(`replace`) or one key at a time (`update`); the board works out what changed and queues it to
every `Viewer`. A viewer whose queue overflows (a slow browser) gets `resync`: the SSE loop
then sends it a fresh snapshot instead of an unbounded backlog. Example:

    board = StatusBoard(max_keys=1000, history=50)
    viewer = board.subscribe(scope=Scope(prefix="team-a/", strip="team-a/"), filter="chat-")
    board.update("team-a/chat-1", state)
    change = viewer.changes.get_nowait()        # {"key": "chat-1", "lock": {...}}

Charts: the feed reports each grant's wait (queued -> granted) and each release's or expiry's
hold (granted -> gone) with `record`, before the `update` that shows the new state. Memory is
bounded: `history` values per series in a ring buffer, for at most `max_keys` keys (least
recently recorded dropped first). The live states themselves mirror the store's held keys.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from threadlock.model import LockState

Json = dict[str, Any]

VIEWER_QUEUE = 1000  # changes buffered per viewer before it must resync


@dataclass(frozen=True)
class Scope:
    """Which stored keys a viewer may see: those under `prefix` (a tenant's "<tenant>/";
    "" for everything), shown with `strip` removed (so a tenant sees its own key names)."""

    prefix: str = ""
    strip: str = ""

    def shown(self, stored: str) -> str | None:
        """The key as this viewer names it, or None if it is not the viewer's."""
        if not stored.startswith(self.prefix):
            return None
        return stored.removeprefix(self.strip)


@dataclass
class History:
    waits: deque[float]
    holds: deque[float]

    def json(self) -> Json:
        return {"waits": [round(v, 3) for v in self.waits],
                "holds": [round(v, 3) for v in self.holds]}


@dataclass(eq=False)  # hashed by identity: the board keeps a set of them
class Viewer:
    """One page connection. `changes` carries {"key", "lock"} dicts ("lock": None when the
    key has no holder any more); `resync` is set when changes were dropped."""

    scope: Scope
    filter: str
    changes: asyncio.Queue[Json] = field(
        default_factory=lambda: asyncio.Queue(VIEWER_QUEUE))
    resync: asyncio.Event = field(default_factory=asyncio.Event)

    def shown(self, stored: str) -> str | None:
        key = self.scope.shown(stored)
        return key if key is not None and key.startswith(self.filter) else None


class StatusBoard:
    def __init__(self, *, max_keys: int = 1000, history: int = 50) -> None:
        if max_keys < 1 or history < 1:
            raise ValueError("max_keys and history must be at least 1")
        self.max_keys = max_keys
        self.history_len = history
        self.states: dict[str, LockState] = {}
        self.histories: OrderedDict[str, History] = OrderedDict()
        self.viewers: set[Viewer] = set()
        self.synced = False  # True once a feed delivered its first snapshot
        self.feed_error = ""  # the feed's last error; "" while it works

    # Feed side ------------------------------------------------------------------------------
    def replace(self, states: Iterable[LockState]) -> None:
        """The whole store as it is now: every key not listed has no holder."""
        fresh = {s.key: s for s in states}
        for key in [k for k in self.states if k not in fresh]:
            self.update(key, None)
        for key, state in fresh.items():
            self.update(key, state)
        self.synced = True

    def update(self, key: str, state: LockState | None) -> None:
        """`key` now looks like `state` (None: nobody holds it)."""
        old = self.states.get(key)
        if state is None and old is None:
            return
        if old is not None and state is not None and _same(old, state):
            return
        if state is None:
            del self.states[key]
        else:
            self.states[key] = state
        for viewer in self.viewers:
            self._send(viewer, key)

    def record(self, key: str, *, wait: float | None = None,
               hold: float | None = None) -> None:
        """A grant on `key` after `wait` seconds queued, or a hold of `hold` seconds ended
        (shown with the key's next update)."""
        history = self._history(key)
        if wait is not None:
            history.waits.append(max(0.0, wait))
        if hold is not None:
            history.holds.append(max(0.0, hold))

    def set_error(self, error: str) -> None:
        """The feed failed with `error` ("" once it works again). Every viewer is told at
        once: it is marked for a fresh snapshot (which carries the error) and woken."""
        if error == self.feed_error:
            return
        self.feed_error = error
        for viewer in self.viewers:
            viewer.resync.set()
            with contextlib.suppress(asyncio.QueueFull):  # a full queue wakes it anyway
                viewer.changes.put_nowait({})

    def _history(self, key: str) -> History:
        found = self.histories.get(key)
        if found is None:
            found = History(deque(maxlen=self.history_len), deque(maxlen=self.history_len))
            self.histories[key] = found
            while len(self.histories) > self.max_keys:
                self.histories.popitem(last=False)
        else:
            self.histories.move_to_end(key)
        return found

    # Viewer side ----------------------------------------------------------------------------
    def subscribe(self, scope: Scope, filter: str = "") -> Viewer:
        viewer = Viewer(scope, filter)
        self.viewers.add(viewer)
        return viewer

    def unsubscribe(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)

    def snapshot(self, viewer: Viewer) -> list[Json]:
        """Every lock `viewer` may see, sorted by key (and its queue emptied: the snapshot
        already holds whatever it had queued)."""
        while not viewer.changes.empty():
            viewer.changes.get_nowait()
        viewer.resync.clear()
        shown = ((viewer.shown(k), k) for k in self.states)
        return [self.view(k, stored) for k, stored in sorted(
            (k, stored) for k, stored in shown if k is not None)]

    def view(self, shown: str, stored: str) -> Json:
        """One key as the page draws it; `shown`: its name for this viewer."""
        state = self.states.get(stored)
        history = self.histories.get(stored)
        lock: Json | None = None
        if state is not None:
            h = state.holder
            lock = {"owner": h.owner, "fencing_token": h.fencing_token,
                    "acquired_at": h.acquired_at, "expires_at": h.expires_at,
                    "metadata": h.metadata,
                    "waiters": [{"owner": w.owner, "position": w.position,
                                 "queued_at": w.queued_at} for w in state.waiters]}
        return {"key": shown, "lock": lock,
                "history": history.json() if history is not None else {"waits": [],
                                                                       "holds": []}}

    def _send(self, viewer: Viewer, stored: str) -> None:
        shown = viewer.shown(stored)
        if shown is None or viewer.resync.is_set():
            return
        try:
            viewer.changes.put_nowait(self.view(shown, stored))
        except asyncio.QueueFull:  # a slow reader: it gets a fresh snapshot instead
            viewer.resync.set()


EXPIRY_SLACK = 1.0  # seconds: an expires_at computed as now + whole seconds left jitters


def _same(a: LockState, b: LockState) -> bool:
    """Equal as the page shows them: the same grant, queue and metadata, and an expiry that
    moved less than EXPIRY_SLACK (a renewal moves it by seconds, and is sent)."""
    ha, hb = a.holder, b.holder
    return ((ha.owner, ha.fencing_token, ha.acquired_at, ha.metadata, a.waiters)
            == (hb.owner, hb.fencing_token, hb.acquired_at, hb.metadata, b.waiters)
            and abs(ha.expires_at - hb.expires_at) < EXPIRY_SLACK)
