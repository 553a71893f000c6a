"""The embedded lock store for a single coordinator replica: no etcd to run, the same
semantics as etcd under the recipe in `threadlock.store` (one global revision that every
write bumps, leases that expire and take their keys with them, one atomic step per call),
so the one conformance suite passes against both. All state lives in this process and dies
with it."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import secrets
import time
from dataclasses import dataclass, field

from threadlock.internal import state_pb2
from threadlock.store import Ahead, Contender, Enqueued, LeaseGone, Outcome, Removed
from threadlock.watch.events import Delete, Put, Tombstone
from threadlock.watch.memory_source import DEFAULT_CAPACITY, ChangeFeed


@dataclass
class _Lease:
    ttl: int
    expires: float  # time.monotonic()
    timer: asyncio.TimerHandle
    contenders: set[tuple[str, str]] = field(default_factory=set)
    tombstones: set[str] = field(default_factory=set)
    fences: set[str] = field(default_factory=set)
    sessions: dict[str, state_pb2.SessionRecord] = field(default_factory=dict)


def _copy(c: Contender) -> Contender:
    # etcd hands out freshly decoded values: a caller mutating one must not touch the store.
    entry = state_pb2.Entry()
    entry.CopyFrom(c.entry)
    return dataclasses.replace(c, entry=entry)


class MemoryStore:
    """A `threadlock.store.Store` held in dicts on the running event loop."""

    def __init__(self, feed_capacity: int = DEFAULT_CAPACITY) -> None:
        # Revisions are fencing tokens: seeded from the clock (microseconds) so that they keep
        # increasing across restarts of this process, as etcd's do across its restarts (as
        # long as the wall clock does not step back by more than the downtime).
        self._revision = time.time_ns() // 1000
        self._leases: dict[int, _Lease] = {}
        # Insertion order is revision order: contenders are only ever appended, and
        # claim replaces a value in place.
        self._keys: dict[str, dict[str, Contender]] = {}
        self._tombstones: dict[str, int] = {}  # uid -> lease
        self._fences: dict[str, int] = {}  # attempt -> lease
        self._waiters: dict[tuple[str, str], set[asyncio.Future[None]]] = {}
        self._closed = False
        # Every contender change, for Watch (threadlock.watch): recorded in the same step.
        self.feed = ChangeFeed(feed_capacity)
        self.feed.attach(lambda: [c for q in self._keys.values() for c in q.values()],
                         lambda: self._revision)

    # Leases -------------------------------------------------------------------------------
    async def grant(self, ttl: int, deadline: float) -> int:
        ttl = max(int(ttl), 1)  # like etcd, which raises a too-short TTL to its minimum
        # Random ids: a lease token from before a restart must not name a new lease.
        lease_id = secrets.randbits(62) or 1
        while lease_id in self._leases:
            lease_id = secrets.randbits(62) or 1
        self._leases[lease_id] = _Lease(ttl, time.monotonic() + ttl, self._schedule(lease_id, ttl))
        return lease_id

    async def lock_lease(self, ttl: int, deadline: float) -> tuple[int, float]:
        sent = time.monotonic()
        return await self.grant(ttl, deadline), sent + max(int(ttl), 1)

    async def revoke(self, lease: int, deadline: float) -> None:
        self._expire(lease)

    def recycle(self, lease: int, ttl: int) -> bool:
        return False  # a grant here costs nothing: revoke

    async def renew(self, lease: int, deadline: float) -> int:
        held = self._live(lease)
        if held is None:
            return 0
        held.timer.cancel()
        held.expires = time.monotonic() + held.ttl
        held.timer = self._schedule(lease, held.ttl)
        return held.ttl

    async def time_to_live(self, lease: int, deadline: float) -> tuple[int, int]:
        held = self._live(lease)
        if held is None:
            return -1, 0
        # Whole seconds rounded down, as etcd does: never more time than the lease has.
        return max(0, math.floor(held.expires - time.monotonic())), held.ttl

    # Contenders ---------------------------------------------------------------------------
    async def enqueue(self, key: str, uid: str, entry: state_pb2.Entry, lease: int,
                      queue: bool, deadline: float,
                      session: tuple[int, str] | None = None,
                      mark_granted: bool = True) -> Enqueued:
        if entry.attempt in self._fences:
            raise LeaseGone("this attempt was fenced off")
        if session is not None:
            owner = self._live(session[0])
            if owner is None or session[1] not in owner.sessions:
                raise LeaseGone("session not found")
        queue_of = self._keys.get(key, {})
        writes = (not queue_of and uid not in self._tombstones) or (
            queue and uid not in queue_of and uid not in self._tombstones)
        held = self._live(lease)
        if writes and held is None:  # etcd fails a put on a missing lease, not a read
            raise LeaseGone("lease not found")
        # The branches of the etcd transaction, in its order.
        if not queue_of and uid not in self._tombstones:
            assert held is not None
            granted = state_pb2.Entry()
            granted.CopyFrom(entry)
            if mark_granted:
                granted.acquired_at_us = entry.queued_at_us
            return Enqueued(Outcome.GRANTED,
                            contender=self._create(key, uid, granted, lease, held), count=1)
        if uid in queue_of:
            return Enqueued(Outcome.EXISTS, contender=_copy(queue_of[uid]))
        if uid in self._tombstones:
            return Enqueued(Outcome.RELEASED)
        if queue:
            assert held is not None
            predecessor = _copy(next(reversed(queue_of.values())))
            created = self._create(key, uid, entry, lease, held)
            return Enqueued(Outcome.QUEUED, contender=created, predecessor=predecessor,
                            count=len(self._keys[key]))
        return Enqueued(Outcome.BUSY, holder=_copy(next(iter(queue_of.values()))),
                        count=len(queue_of))

    async def get(self, key: str, uid: str, deadline: float) -> Contender | None:
        c = self._keys.get(key, {}).get(uid)
        return None if c is None else _copy(c)

    async def ahead(self, c: Contender, deadline: float) -> Ahead:
        queue_of = self._keys.get(c.key, {})
        current = queue_of.get(c.uid)
        predecessor: Contender | None = None
        for other in queue_of.values():
            if other.revision >= c.revision:
                break
            predecessor = other
        alive = current is not None and current.revision == c.revision
        taken = alive and current is not None and current.mod_revision != c.mod_revision
        return Ahead(alive, None if predecessor is None else _copy(predecessor), taken)

    async def wait_gone(self, contenders: list[Contender], deadline: float) -> None:
        # Only deletions wake a waiter, and everything runs on one loop, so "absent now"
        # covers every deletion since the caller read them.
        keys = [(c.key, c.uid) for c in contenders]
        if self._closed or any(
                (now := self._keys.get(c.key, {}).get(c.uid)) is None
                or now.revision != c.revision for c in contenders):
            return
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            return
        # One future per call, registered on each key: a cancelled caller removes exactly
        # its own registration and wakes nobody else.
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for k in keys:
            self._waiters.setdefault(k, set()).add(fut)
        try:
            await asyncio.wait({fut}, timeout=timeout)
        finally:
            for k in keys:
                waiting = self._waiters.get(k)
                if waiting is not None:
                    waiting.discard(fut)
                    if not waiting:
                        del self._waiters[k]
            fut.cancel()

    async def claim_head(self, c: Contender, entry: state_pb2.Entry, deadline: float,
                         lease: int = 0) -> Contender | Ahead:
        # No await in between: one step on the loop, as the etcd transaction is one step.
        ahead = await self.ahead(c, deadline)
        if not ahead.alive or ahead.predecessor is not None:
            return ahead
        claimed = await self.claim(c, entry, deadline, lease)
        return ahead if claimed is None else claimed

    async def claim(self, c: Contender, entry: state_pb2.Entry, deadline: float,
                    lease: int = 0) -> Contender | None:
        queue_of = self._keys.get(c.key, {})
        current = queue_of.get(c.uid)
        if (current is None or current.mod_revision != c.mod_revision
                or entry.attempt in self._fences):
            return None
        target = current.lease
        if lease:
            moved_to = self._live(lease)
            if moved_to is None:
                raise LeaseGone("lease not found")
            old = self._leases.get(current.lease)
            if old is not None:
                old.contenders.discard((c.key, c.uid))
            moved_to.contenders.add((c.key, c.uid))
            target = lease
        stored = state_pb2.Entry()
        stored.CopyFrom(entry)
        # A put on an existing key: a new mod revision, the create revision (token) unchanged.
        self._revision += 1
        queue_of[c.uid] = dataclasses.replace(current, entry=stored, lease=target,
                                              mod_revision=self._revision)
        self.feed.record(Put(self._revision, queue_of[c.uid], current))
        return _copy(queue_of[c.uid])

    async def fence(self, attempt: str, lease: int, deadline: float) -> None:
        held = self._live(lease)
        if held is None:
            raise LeaseGone("lease not found")
        self._revision += 1
        previous = self._fences.get(attempt)  # a put on the same key moves it, as in etcd
        if previous is not None and previous in self._leases:
            self._leases[previous].fences.discard(attempt)
        self._fences[attempt] = lease
        held.fences.add(attempt)

    async def remove(self, key: str, uid: str, revision: int, lease: int,
                     tombstone_lease: int, deadline: float) -> tuple[Removed, Contender | None]:
        tomb = self._live(tombstone_lease) if tombstone_lease else None
        current = self._keys.get(key, {}).get(uid)
        if current is not None and (current.revision, current.lease) == (revision, lease):
            if tombstone_lease and tomb is None:
                raise LeaseGone("lease not found")  # etcd fails the whole transaction
            self._revision += 1  # the delete and the tombstone put are one transaction
            self._delete(key, uid)
            if tomb is not None:
                self._put_tombstone(uid, tombstone_lease, tomb)
            return Removed.REMOVED, _copy(current)
        if uid in self._tombstones:
            return Removed.ALREADY, None
        return Removed.GONE, None

    async def discard(self, c: Contender, deadline: float) -> bool:
        current = self._keys.get(c.key, {}).get(c.uid)
        if current is None or current.mod_revision != c.mod_revision:
            return False
        self._revision += 1
        self._delete(c.key, c.uid)
        return True

    async def head(self, key: str, deadline: float) -> tuple[Contender | None, int]:
        queue_of = self._keys.get(key)
        if not queue_of:
            return None, 0
        return _copy(next(iter(queue_of.values()))), len(queue_of)

    async def scan(self, prefix: str, exact: bool, after: str, max_keys: int,
                   deadline: float) -> tuple[list[list[Contender]], bool]:
        # etcd orders keys by their UTF-8 bytes, the same order as str's code points.
        matched = sorted(
            k for k in self._keys
            if (k == prefix if exact else k.startswith(prefix)) and (not after or k > after)
        )
        limit = max_keys if max_keys > 0 else len(matched)  # 0 = no limit, as in etcd
        groups = [[_copy(c) for c in self._keys[k].values()] for k in matched[:limit]]
        return groups, len(matched) > limit

    async def count(self, deadline: float) -> tuple[int, int]:
        contenders = sum(len(queue_of) for queue_of in self._keys.values())
        return len(self._keys), contenders - len(self._keys)

    # Sessions -----------------------------------------------------------------------------
    async def put_session(self, lease: int, nonce: str, record: state_pb2.SessionRecord,
                          deadline: float) -> None:
        held = self._live(lease)
        if held is None:
            raise LeaseGone("lease not found")
        stored = state_pb2.SessionRecord()
        stored.CopyFrom(record)
        self._revision += 1
        held.sessions[nonce] = stored

    async def session_exists(self, lease: int, nonce: str, deadline: float) -> bool:
        held = self._live(lease)
        return held is not None and nonce in held.sessions

    # Health -------------------------------------------------------------------------------
    async def ping(self, deadline: float) -> None:
        return None

    async def close(self) -> None:
        self._closed = True
        for held in self._leases.values():
            held.timer.cancel()
        for waiting in self._waiters.values():
            for fut in waiting:
                if not fut.done():
                    fut.set_result(None)

    # Internals ----------------------------------------------------------------------------
    def _schedule(self, lease: int, ttl: int) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(ttl, self._expire, lease)

    def _live(self, lease: int) -> _Lease | None:
        """The lease if it is alive; one past its expiry whose timer has not run yet (a busy
        loop) expires here, so every read agrees with the clock."""
        held = self._leases.get(lease)
        if held is not None and time.monotonic() >= held.expires:
            self._expire(lease)
            return None
        return held

    def _expire(self, lease: int) -> None:
        held = self._leases.pop(lease, None)
        if held is None:
            return
        held.timer.cancel()
        if held.contenders or held.tombstones or held.sessions or held.fences:
            self._revision += 1  # etcd deletes a lease's keys in one transaction
        for attempt in held.fences:
            del self._fences[attempt]
        for key, uid in list(held.contenders):
            self._delete(key, uid)
        for uid in held.tombstones:
            del self._tombstones[uid]

    def _create(self, key: str, uid: str, entry: state_pb2.Entry, lease: int,
                held: _Lease) -> Contender:
        stored = state_pb2.Entry()
        stored.CopyFrom(entry)
        self._revision += 1
        c = Contender(key, uid, self._revision, lease, stored, self._revision)
        self._keys.setdefault(key, {})[uid] = c
        held.contenders.add((key, uid))
        self.feed.record(Put(self._revision, c, None))
        return _copy(c)

    def _delete(self, key: str, uid: str) -> None:
        """Delete a contender without touching the revision (the caller's write bumps it)."""
        queue_of = self._keys[key]
        c = queue_of.pop(uid)
        if not queue_of:
            del self._keys[key]
        self.feed.record(Delete(self._revision, c))
        owner = self._leases.get(c.lease)
        if owner is not None:
            owner.contenders.discard((key, uid))
        for fut in self._waiters.pop((key, uid), ()):
            if not fut.done():
                fut.set_result(None)

    def _put_tombstone(self, uid: str, lease: int, held: _Lease) -> None:
        # One tombstone key per uid: a newer put moves it to the new lease, as in etcd.
        previous = self._tombstones.get(uid)
        if previous is not None and previous in self._leases:
            self._leases[previous].tombstones.discard(uid)
        self._tombstones[uid] = lease
        held.tombstones.add(uid)
        self.feed.record(Tombstone(self._revision, uid))
