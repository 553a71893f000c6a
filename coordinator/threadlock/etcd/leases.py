"""Lease recycling: a released lock's own lease, keyless now, serves the next lock of the same
TTL instead of a LeaseRevoke now and a LeaseGrant later (both raft writes, outside any Txn).
Taking one renews it over the shared keepalive stream (no raft write), so it starts a full TTL,
unless this replica renewed (or granted) it less than a tenth of its TTL ago: then `take_for_lock`
hands it out as it is, with the time it is known to live until (>= 90% of a TTL from now),
which the grant reports. Short locks then cost no keepalive at all: a lease cycling through
lock after lock is renewed about once per TTL/10 instead of once per lock.

Why it is safe:
- Only a lock's own lease is pooled, and only by the Release that deleted its one key (the
  contender: the compare on its create revision and lease matched): nothing else lives on it,
  and no later write can land on it (every write to that contender compares its mod revision,
  and a lost enqueue of an attempt is fenced before its cleanup reads).
- A taker is alone with it: the pool pops synchronously, one lease to one caller.
- Tokens name (key, uid, lease, create revision): a stale token of the lock that had the lease
  matches no contender, so it can neither release nor renew through it. The one holder of the
  old id that could act on it is an earlier attempt of a retried request, whose cleanup might
  revoke "its" lease after a retry released it: `Leaver.leave` never revokes an own lease it
  no longer finds a contender on (it is keyless, or someone else's now; it ends with its TTL).
- A pooled lease that expired meanwhile answers the renewal with TTL 0 and is dropped; one
  idle longer than half its TTL is dropped unasked (it expires on its own, keyless).
- Skipping the renewal changes no lock's safety, only the expiry it reports: the bound is the
  time read before the grant or renewal was sent plus the TTL etcd answered, so the lease lives
  at least that long (renewals elsewhere only extend it), and the grant reports that shorter
  expiry (`Lease.valid_for`; the SDKs renew once two thirds of a TTL is left, here ~0.23 TTL
  in). Nothing revokes a pooled lease (see above); if etcd lost one anyway, the enqueue's put
  on it fails the whole Txn, nothing is written, and the acquire answers UNAVAILABLE "nothing
  was written, retry" (acquire.py), as for a fresh lease lost that way.
"""

from __future__ import annotations

import collections
import time

from threadlock.etcd.keepalive import LeaseKeeper

MAX_PER_TTL = 512  # pooled leases per TTL; beyond, a release revokes as before
MAX_TTLS = 64  # distinct TTLs pooled at once
SKIP_RENEWAL = 0.9  # hand out unrenewed when at least this much of the TTL is known to be left


class LeasePool:
    def __init__(self, keeper: LeaseKeeper) -> None:
        self._keeper = keeper
        self._pool: dict[int, collections.deque[tuple[int, float]]] = {}  # ttl -> (id, at)
        self.reused = 0  # grants served from the pool (tests, bench)
        self.unrenewed = 0  # of which handed out without a renewal (tests, bench)

    def put(self, lease: int, ttl: int) -> bool:
        """Keep the keyless `lease` (granted with `ttl`); False: full, revoke it instead."""
        if ttl <= 0:
            return False
        q = self._pool.get(ttl)
        if q is None:
            if len(self._pool) >= MAX_TTLS:
                return False
            q = self._pool[ttl] = collections.deque()
        if len(q) >= MAX_PER_TTL:
            return False
        q.append((lease, time.monotonic()))
        return True

    def size(self) -> int:
        """Leases pooled now, of every TTL (tests, bench)."""
        return sum(len(q) for q in self._pool.values())

    async def take(self, ttl: int, deadline: float) -> int | None:
        """A pooled lease of `ttl`, renewed to its full TTL, or None."""
        got = await self._take(ttl, deadline, renew_always=True)
        return None if got is None else got[0]

    async def take_for_lock(self, ttl: int, deadline: float) -> tuple[int, float] | None:
        """A pooled lease of `ttl` and a time.monotonic() it lives at least until (>= 90% of
        `ttl` from now: renewed now unless it was lately), or None."""
        return await self._take(ttl, deadline, renew_always=False)

    async def _take(self, ttl: int, deadline: float,
                    renew_always: bool) -> tuple[int, float] | None:
        q = self._pool.get(ttl)
        while q:
            lease, at = q.pop()  # the freshest first
            now = time.monotonic()
            if now - at > ttl / 2:
                q.clear()  # older ones are older still: let them expire
                break
            until = self._keeper.until(lease)
            if not renew_always and until is not None and until - now >= SKIP_RENEWAL * ttl:
                self.reused += 1
                self.unrenewed += 1
                return lease, until
            left = await self._keeper.renew(lease, deadline)
            if left > 0:
                self.reused += 1
                return lease, now + left
        return None
