"""EventHub: the one subscription per replica to its store's changes (a `Source`), fanned
out to every watcher on that replica through bounded queues.

The hub keeps a mirror of every contender (so a snapshot costs no store read) and a ring of
the last `history` events (so a recent cursor resumes without one). A cursor older than the
ring is caught up from the store's own history (an etcd watch from that revision); one the
store no longer has (etcd compacted it), or from another history (another etcd cluster, an
earlier embedded store), yields CURSOR_TOO_OLD and a fresh snapshot. A cursor ahead of this
replica (a watcher moving from a replica further along) skips what it has seen already.

A watcher whose queue of `buffer` undelivered events is full is cut off with SlowWatcher
(RESOURCE_EXHAUSTED naming `watch_buffer`) instead of growing memory: it resumes with its last
cursor. At most `max_watchers` watch at once per replica (RESOURCE_EXHAUSTED naming
`max_watchers`).

Internal API (also used by the admin port's live status page); on a running coordinator the
hub is `threadlock.server.Server.hub` (None until `start()`), started on its first subscriber:

    async for event in hub.subscribe(prefix="conv_", cursor=""):   # or exact=True for a key
        ...  # snapshot events (event.snapshot), SNAPSHOT_END, then changes

`subscribe_batches` is the same stream in lists of the events ready at once (Watch sends one
WatchResponse per list).

`subscribe` is an async generator of `LockEvent`s (threadlock.watch.events); it ends only by
raising (Unavailable when the store cannot be read at the start or the hub closes,
SlowWatcher, ResourceExhausted) or when the caller stops iterating (aclose / break).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from threadlock.errors import ResourceExhausted, Unavailable
from threadlock.store import Contender
from threadlock.timeouts import within
from threadlock.watch.events import (
    SNAPSHOT_INDEX,
    Delete,
    Kind,
    LockEvent,
    Position,
    Put,
    decode_cursor,
    derive,
    encode_cursor,
    matches,
    snapshot_events,
)
from threadlock.watch.source import Batch, Compacted, Snapshot, Source

log = logging.getLogger("threadlock.watch")

DEFAULT_HISTORY = 10_000
DEFAULT_MAX_WATCHERS = 1_000
DEFAULT_BUFFER = 10_000
MAX_BATCH = 500  # events per list from subscribe_batches (per WatchResponse)


class SlowWatcher(ResourceExhausted):
    """The watcher did not keep up: its buffer of undelivered events filled."""


class _Reset:
    """The hub reloaded (its own place in the store's history was lost): start over."""


class _Closed:
    pass


RESET, CLOSED = _Reset(), _Closed()
Item = LockEvent | _Reset | _Closed


@dataclass(eq=False)
class _Sub:
    prefix: str
    exact: bool
    limit: int
    items: deque[Item] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    overflowed: bool = False

    def push(self, item: Item) -> None:
        if isinstance(item, LockEvent):
            if self.overflowed or not matches(item, self.prefix, self.exact):
                return
            if len(self.items) >= self.limit:
                self.overflowed = True
            else:
                self.items.append(item)
        else:
            self.items.clear()
            self.items.append(item)
        self.wake.set()

    async def next_batch(self, limit: int) -> list[Item]:
        """The queued items (at least one, at most `limit`), waiting for one if need be."""
        while not self.items and not self.overflowed:
            self.wake.clear()
            await self.wake.wait()
        if self.overflowed:
            raise SlowWatcher("watch_buffer", f"this watcher fell {self.limit} events behind "
                              "(--watch-buffer) and was disconnected; resume with its last "
                              "cursor")
        out: list[Item] = []
        while self.items and len(out) < limit:
            out.append(self.items.popleft())
        return out


class EventHub:
    def __init__(self, source: Source, *, history: int = DEFAULT_HISTORY,
                 max_watchers: int = DEFAULT_MAX_WATCHERS, buffer: int = DEFAULT_BUFFER,
                 start_timeout: float = 5.0, idle_stop: float = 60.0) -> None:
        self.source = source
        self.max_watchers = max_watchers
        self.buffer = buffer
        self.start_timeout = start_timeout
        self.epoch = ""
        self.revision = 0  # every change up to here is applied to the mirror
        self._mirror: dict[str, dict[str, Contender]] = {}
        self._ring: deque[LockEvent] = deque(maxlen=history)
        self._floor = Position(0, 0)  # the ring holds every event after this position
        self._subs: set[_Sub] = set()
        self._ready = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._closed = False
        # With no watcher for this long, the store subscription stops (it costs CPU on every
        # lock change); the next watcher starts it again, resuming cursors from the store.
        self.idle_stop = idle_stop
        self._idle: asyncio.TimerHandle | None = None
        self.events_total = 0  # derived events (for metrics and the bench)

    @property
    def watchers(self) -> int:
        return len(self._subs)

    # The one store subscription ------------------------------------------------------------
    def _ensure_running(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name="watch-hub")

    async def _run(self) -> None:
        backoff = 0.05
        while not self._closed:
            try:
                snap = await self.source.snapshot(time.monotonic() + self.start_timeout)
            except Unavailable as exc:
                if not self._subs:  # nobody waits for it: the next watcher starts it again
                    log.warning("watch hub: snapshot failed (%s); stopped", exc)
                    return
                log.warning("watch hub: snapshot failed (%s); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.05
            self._load(snap)
            try:
                async for batch in self.source.changes(snap.revision):
                    self._apply(batch)
            except Compacted as exc:
                log.warning("watch hub fell out of the store's history (%s); reloading", exc)
            except Unavailable as exc:
                log.warning("watch hub: store unavailable (%s); reloading", exc)
                await asyncio.sleep(backoff)
            self._ready.clear()
            for sub in self._subs:
                sub.push(RESET)

    def _load(self, snap: Snapshot) -> None:
        self.epoch, self.revision = snap.epoch, snap.revision
        self._mirror = {}
        for c in snap.contenders:
            self._mirror.setdefault(c.key, {})[c.uid] = c
        self._ring.clear()
        self._floor = Position(snap.revision, SNAPSHOT_INDEX)
        self._ready.set()

    def _apply(self, batch: Batch) -> None:
        events = derive(batch.revision, batch.changes, self.epoch)
        for ch in batch.changes:
            if isinstance(ch, Put):
                self._mirror.setdefault(ch.contender.key, {})[ch.contender.uid] = ch.contender
            elif isinstance(ch, Delete):
                group = self._mirror.get(ch.prev.key)
                if group is not None:
                    group.pop(ch.prev.uid, None)
                    if not group:
                        del self._mirror[ch.prev.key]
        self.revision = batch.revision
        for e in events:
            if len(self._ring) == self._ring.maxlen:
                self._floor = self._ring[0].position
            self._ring.append(e)
            for sub in self._subs:
                sub.push(e)
        self.events_total += len(events)

    # Watchers ----------------------------------------------------------------------------
    async def subscribe(self, prefix: str = "", *, exact: bool = False,
                        cursor: str = "") -> AsyncGenerator[LockEvent, None]:
        """Events of the key `prefix` (`exact`) or of every key starting with it: after
        `cursor` if given and still resumable, else a snapshot (after CURSOR_TOO_OLD when a
        cursor was given) ending with SNAPSHOT_END; then changes as they happen."""
        # aclosing: a caller that stops iterating ends the subscription now, not at GC time.
        async with contextlib.aclosing(self.subscribe_batches(
                prefix, exact=exact, cursor=cursor)) as batches:
            async for batch in batches:
                for e in batch:
                    yield e

    async def subscribe_batches(
            self, prefix: str = "", *, exact: bool = False, cursor: str = "",
            max_batch: int = MAX_BATCH) -> AsyncGenerator[list[LockEvent], None]:
        """`subscribe`, in lists of up to `max_batch` events (never empty): each list holds
        what was ready at once, so a busy stream costs one message per list, not per event."""
        want = decode_cursor(cursor) if cursor else None  # INVALID_ARGUMENT before anything
        if len(self._subs) >= self.max_watchers:
            raise ResourceExhausted("max_watchers", f"this replica already serves "
                                    f"{len(self._subs)} watchers (--max-watchers); retry later "
                                    "or on another replica")
        if self._closed:
            raise Unavailable("the coordinator is shutting down")
        sub = _Sub(prefix, exact, self.buffer)
        self._subs.add(sub)
        try:
            self._ensure_running()
            await self._wait_ready()
            async with contextlib.aclosing(self._serve(sub, want, max(1, max_batch))) as served:
                async for batch in served:
                    yield batch
        finally:
            self._subs.discard(sub)
            if not self._subs and not self._closed and self._runner is not None:
                self._idle = asyncio.get_running_loop().call_later(self.idle_stop,
                                                                   self._stop_if_idle)

    def _stop_if_idle(self) -> None:
        self._idle = None
        if self._subs or self._runner is None:
            return
        self._runner.cancel()  # nobody awaits it: a new one starts with the next watcher
        self._runner = None
        self._ready.clear()
        self._mirror, self._ring = {}, deque(maxlen=self._ring.maxlen)
        log.info("watch hub idle for %gs: stopped", self.idle_stop)

    async def _wait_ready(self) -> None:
        try:
            await within(self._ready.wait(), self.start_timeout)
        except TimeoutError:
            raise Unavailable("watch: the lock store could not be read "
                              f"within {self.start_timeout:g}s") from None

    async def _serve(self, sub: _Sub, want: tuple[str, Position] | None,
                     limit: int) -> AsyncGenerator[list[LockEvent], None]:
        too_old = False
        while True:
            if want is None or want[0] != self.epoch:
                head = [self._too_old()] if want is not None or too_old else []
                last = Position(self.revision, SNAPSHOT_INDEX)
                sub.items.clear()  # no await since the mirror was read: the queue starts here
                snap = head + snapshot_events(self._matching(sub), self.revision, self.epoch)
                for i in range(0, len(snap), limit):
                    yield snap[i:i + limit]
            else:
                last = want[1]
                try:
                    async for e in self._resume(sub, last, limit):
                        last = e[-1].position
                        yield e
                except Compacted:
                    want, too_old = None, True
                    continue
            # Changes, live.
            reset = False
            while not reset:
                out: list[LockEvent] = []
                for item in await sub.next_batch(limit):
                    if isinstance(item, _Closed):
                        if out:
                            yield out
                        raise Unavailable("the coordinator is shutting down; resume elsewhere")
                    if isinstance(item, _Reset):
                        reset = True
                        break
                    if item.position.key() <= last.key():
                        continue  # already delivered (a catch-up or a cursor ahead of us)
                    last = item.position
                    out.append(item)
                if out:
                    yield out
            await self._wait_ready()
            want, too_old = None, True

    async def _resume(self, sub: _Sub, after: Position,
                      limit: int) -> AsyncGenerator[list[LockEvent], None]:
        """Every event after `after` up to the moment of the call (later ones queue in `sub`)."""
        floor = self._floor
        backlog = [e for e in self._ring
                   if e.position.key() > after.key() and matches(e, sub.prefix, sub.exact)]
        sub.items.clear()  # no await since the ring was read: later events queue from here
        if after.key() < floor.key():  # older than the ring: from the store's history
            # From the cursor's own revision when it named an event inside it: the rest of
            # that revision's events follow it (a snapshot cursor covers its whole revision).
            start = after.revision - (after.index < SNAPSHOT_INDEX)
            async for batch in self.source.changes(start, until=floor.revision):
                found = [e for e in derive(batch.revision, batch.changes, self.epoch)
                         if after.key() < e.position.key() <= floor.key()
                         and matches(e, sub.prefix, sub.exact)]
                if found:
                    yield found
        for i in range(0, len(backlog), limit):
            yield backlog[i:i + limit]

    def _matching(self, sub: _Sub) -> list[Contender]:
        if sub.exact:
            return list(self._mirror.get(sub.prefix, {}).values())
        return [c for key, group in self._mirror.items() if key.startswith(sub.prefix)
                for c in group.values()]

    def _too_old(self) -> LockEvent:
        pos = Position(self.revision, SNAPSHOT_INDEX)
        return LockEvent(Kind.CURSOR_TOO_OLD, time=time.time(), position=pos,
                         cursor=encode_cursor(self.epoch, pos))

    @property
    def running(self) -> bool:
        """Whether the store subscription runs (a watcher is there, or was recently)."""
        return self._runner is not None and not self._runner.done()

    async def close(self) -> None:
        self._closed = True
        if self._idle is not None:
            self._idle.cancel()
        for sub in self._subs:
            sub.push(CLOSED)
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(BaseException):
                await self._runner
