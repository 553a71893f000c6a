"""The one small interface behind which lock state lives: etcd (`threadlock.etcd.store`) or
the embedded in-memory store (`threadlock.memory`). Both pass one conformance suite.

The model is etcd's own lock recipe (client/v3/concurrency/mutex.go):
- A *contender* is one key per (lock key, uid) attached to a lease; its create revision is
  both its place in the FIFO queue and its fencing token. The lowest revision holds the lock.
- A lease expires unless renewed, deleting its contenders: a crashed holder frees the lock.
- A *tombstone* (per uid, on a short-lived lease) remembers a release for a while, so that a
  repeated Release or a late retry of an Acquire is recognised rather than acting again.
- A *session* is a lease with a session record; contenders may live under it.
- Retries of one request_id share a contender. Whoever proceeds with it *claims* it first
  (a compare-and-put on its mod revision, writing its own attempt id into the entry); cleanup
  deletes only a contender whose entry still names the cleaning attempt: a stale attempt never
  deletes a grant that a later attempt handed out.
- A contender under a session waits on a lease of its own (which the coordinator renews and a
  crashed coordinator lets lapse) and moves onto the session's lease when it is granted.

Every method takes an absolute `deadline` (time.monotonic()) and raises
`threadlock.errors.Unavailable` when the store cannot answer before it, never hangs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from threadlock.errors import NotFound
from threadlock.internal import state_pb2


class LeaseGone(NotFound):
    """The lease a write was attached to no longer exists."""


@dataclass(frozen=True)
class Contender:
    key: str
    uid: str
    revision: int  # create revision: queue position and fencing token
    lease: int
    entry: state_pb2.Entry
    mod_revision: int  # revision of the last write: who owns it now


class Outcome(enum.Enum):
    GRANTED = "granted"  # nobody held or waited: the new contender holds the lock
    QUEUED = "queued"  # the new contender waits behind `predecessor`
    BUSY = "busy"  # try-once and the lock is taken: nothing was written
    EXISTS = "exists"  # the uid is already a contender (a retried request_id)
    RELEASED = "released"  # the uid has a tombstone: that request was released already


@dataclass(frozen=True)
class Enqueued:
    outcome: Outcome
    contender: Contender | None = None  # GRANTED, QUEUED, EXISTS
    predecessor: Contender | None = None  # QUEUED
    holder: Contender | None = None  # BUSY
    count: int = 0  # contenders of the key, holder included (BUSY, QUEUED)


class Removed(enum.Enum):
    REMOVED = "removed"  # this call deleted the contender
    ALREADY = "already"  # a tombstone says an earlier call did
    GONE = "gone"  # no contender, no tombstone: expired, or never existed


@dataclass(frozen=True)
class Ahead:
    alive: bool  # the contender still exists
    predecessor: Contender | None  # the contender just before it, None if it holds the lock
    taken: bool = False  # it exists but was written since it was read: a retry took it over


class Store(Protocol):
    # Leases -------------------------------------------------------------------------------
    async def grant(self, ttl: int, deadline: float) -> int:
        """A new lease of `ttl` seconds; returns its id."""

    async def lock_lease(self, ttl: int, deadline: float) -> tuple[int, float]:
        """A lease of `ttl` seconds for one lock's own contender, and a time.monotonic() it
        lives at least until (which the grant reports): a new lease, or a recycled one,
        renewed unless this replica renewed it lately (then >= 90% of `ttl` is left)."""

    async def revoke(self, lease: int, deadline: float) -> None:
        """End a lease and delete its keys; no error if it is already gone."""

    def recycle(self, lease: int, ttl: int) -> bool:
        """Keep `lease`, a lock's own lease whose one key a Release just deleted, for a later
        `grant(ttl)`; False if the store does not (then revoke it). See etcd/leases.py."""

    async def renew(self, lease: int, deadline: float) -> int:
        """Reset the lease's TTL; returns the TTL in seconds, 0 if the lease is gone."""

    async def time_to_live(self, lease: int, deadline: float) -> tuple[int, int]:
        """(whole seconds left, rounded down; granted TTL) without renewing the lease;
        (-1, 0) if it is gone."""

    # Contenders ---------------------------------------------------------------------------
    async def enqueue(self, key: str, uid: str, entry: state_pb2.Entry, lease: int,
                      queue: bool, deadline: float,
                      session: tuple[int, str] | None = None,
                      mark_granted: bool = True) -> Enqueued:
        """In one atomic step: grant if `key` has no contender at all (storing `entry` with
        acquired_at_us = queued_at_us, unless not `mark_granted`); else, if `uid` is not a
        contender or tombstone yet, queue it (`queue`, `entry` as given) or report the holder
        (try-once).
        Raises LeaseGone if it would write and `lease` does not exist, if the attempt
        `entry.attempt` was fenced off (`fence`), or, with `session` (its lease and nonce), if
        the session record does not exist (a session that ended, or a forged id)."""

    async def get(self, key: str, uid: str, deadline: float) -> Contender | None:
        """The contender (key, uid), if it exists."""

    async def ahead(self, c: Contender, deadline: float) -> Ahead:
        """Whether `c` still exists, and the contender right before it."""

    async def wait_gone(self, contenders: list[Contender], deadline: float) -> None:
        """Return once any of `contenders` is gone (also before this call; a newer contender of
        the same name counts as gone), or the store asks for a re-read (reconnect), or at
        `deadline`. A wake-up is only a hint: callers re-read."""

    async def claim(self, c: Contender, entry: state_pb2.Entry, deadline: float,
                    lease: int = 0) -> Contender | None:
        """Store `entry` for `c` if nobody wrote it since `c` was read (same mod revision) and
        `entry.attempt` is not fenced off, keeping its lease, or moving it to `lease` if given
        (its create revision stays); the updated contender, or None if not."""

    async def claim_head(self, c: Contender, entry: state_pb2.Entry, deadline: float,
                         lease: int = 0) -> Contender | Ahead:
        """`claim`, in the same step only if nobody is ahead of `c`: a woken waiter takes the
        lock in one round trip. The updated contender, or, when nothing was written, what
        `ahead` says at that moment (alive with no predecessor: `claim` itself was refused)."""

    async def remove(self, key: str, uid: str, revision: int, lease: int,
                     tombstone_lease: int, deadline: float) -> tuple[Removed, Contender | None]:
        """Delete the contender if it is still the one created at `revision` on `lease`, and
        leave a tombstone for `uid` on `tombstone_lease` (0 = none), atomically; with the
        contender as it was (REMOVED) - the store, not the token, says what it was."""

    async def fence(self, attempt: str, lease: int, deadline: float) -> None:
        """Make an enqueue or claim of `attempt` fail if it has not applied yet (its answer
        was lost and it may still land); the fence lives on `lease`."""

    async def discard(self, c: Contender, deadline: float) -> bool:
        """Delete `c` if nobody wrote it since (same mod revision). True if deleted."""

    async def head(self, key: str, deadline: float) -> tuple[Contender | None, int]:
        """The holder of `key` and the number of its contenders, holder included."""

    async def scan(self, prefix: str, exact: bool, after: str, max_keys: int,
                   deadline: float) -> tuple[list[list[Contender]], bool]:
        """Contenders grouped by key (keys ascending, each group in queue order) for the key
        `prefix` (exact) or every key starting with it, after key `after`; at most `max_keys`
        groups, and whether more follow."""

    async def count(self, deadline: float) -> tuple[int, int]:
        """(keys with at least one contender, contenders queued behind the first of their
        key) over the whole store, for metrics: cheap (no values read), not for decisions."""

    # Sessions -----------------------------------------------------------------------------
    async def put_session(self, lease: int, nonce: str, record: state_pb2.SessionRecord,
                          deadline: float) -> None:
        """Record a session on its lease. Raises LeaseGone if the lease is gone."""

    async def session_exists(self, lease: int, nonce: str, deadline: float) -> bool: ...

    # Health -------------------------------------------------------------------------------
    async def ping(self, deadline: float) -> None:
        """A linearizable read: raises Unavailable unless the store serves requests."""

    async def close(self) -> None: ...
