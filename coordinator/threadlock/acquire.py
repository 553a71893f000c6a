"""Acquire: the lock protocol, written once over the `Store` interface (see store.py).

  1. a lease: the caller's session, or a new one with the requested TTL;
  2. `store.enqueue`: one atomic step that grants, queues, or reports busy. A session caller
     first tries once on the session's lease (the fast path); it queues, if it must, on a
     waiter lease of its own, so that a coordinator that dies leaves no slot behind;
  3. a queued contender waits for its predecessor's deletion (watch, not polling), re-reads,
     and holds the lock once nobody is ahead; the coordinator renews its lease meanwhile;
  4. on timeout, cancellation or any error the attempt gives back what it wrote (see
     `Leaver.leave` in attempt.py), as a cleanup task that neither waits on the caller nor
     delays its answer.

Retries of one request_id find the contender in step 2 (EXISTS) and take it over (`_take`).
An attempt only ever deletes a contender whose entry names it (`entry.attempt`), and never
one that another attempt granted and may have handed out.

Failure modes: Unavailable when the store cannot answer in time (nothing is granted twice: a
grant is a single compare-and-put); Aborted when a queued lease expired or a retry took the
request over; NotFound for a session that ended.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Literal, overload

from threadlock import tokens
from threadlock.attempt import Attempt, Leaver
from threadlock.cleanups import Cleanups
from threadlock.errors import Aborted, FailedPrecondition, NotFound, Unavailable
from threadlock.internal import state_pb2
from threadlock.metrics import Recorder
from threadlock.model import AcquireSpec, Busy, Grant, HolderInfo
from threadlock.session_clock import SessionClock, session_left
from threadlock.store import Ahead, Contender, Enqueued, LeaseGone, Outcome, Store

log = logging.getLogger("threadlock.locks")

FINAL_STEPS = 0.5  # budget kept for the reads and cleanup after a wait elapses
WAITER_TTL = 10  # lease of a session caller's queue slot; lapses 10 s after its coordinator


def now_us() -> int:
    return int(time.time() * 1_000_000)


def _granted(entry: state_pb2.Entry, at_us: int, attempt: str) -> state_pb2.Entry:
    out = state_pb2.Entry()
    out.CopyFrom(entry)
    out.acquired_at_us, out.attempt = at_us, attempt
    return out


def holder_info(c: Contender, ttl_left: int) -> HolderInfo:
    e = c.entry
    acquired = (e.acquired_at_us or e.queued_at_us) / 1e6
    expires = time.time() + ttl_left if ttl_left >= 0 else 0.0
    return HolderInfo(e.owner, c.revision, acquired, expires, dict(e.metadata))


MAX_REQUEUES = 3  # fresh enqueues of one Acquire whose retried slot vanished under it


class _SlotGone(Aborted):
    """A retried request's slot vanished before this attempt could take it over."""


_LeaseLeft = tuple[float, int, int, bool]  # (asked at, monotonic; seconds left; ttl; alive)


def _drop(fut: asyncio.Future[_LeaseLeft] | None) -> None:
    """Cancel a renewal made in advance that is no longer wanted. Without waiting for it: a
    cleanup that follows must start at once, before a retry can run."""
    if fut is not None:
        fut.cancel()
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())  # mark it retrieved


class Acquirer:
    def __init__(self, store: Store, cleanups: Cleanups, recorder: Recorder,
                 sessions: SessionClock) -> None:
        self.store = store
        self.cleanups = cleanups
        self.recorder = recorder
        self.sessions = sessions
        self.leaver = Leaver(store, cleanups)

    async def acquire(self, spec: AcquireSpec, timeout: float) -> Grant | Busy:
        """`spec` is validated. Policy: deadlines, and cleanup on every way out."""
        start = time.monotonic()
        deadline = start + timeout
        # Stop waiting early enough to read the holder and leave the queue within the budget.
        wait_until = min(start + spec.wait, deadline - min(FINAL_STEPS, timeout / 4))
        for _ in range(MAX_REQUEUES):
            try:
                got = await self._attempt(spec, start, wait_until, deadline)
                if isinstance(got, Grant):  # valid_for counts from when this call began
                    got = dataclasses.replace(got, valid_for=max(got.expires_mono - start, 0.0))
                return got
            except _SlotGone:
                # A retry found the slot of an earlier attempt, which gave it up meanwhile
                # (that attempt ended without a grant): queue anew, as if it had come later.
                continue
        raise Aborted(f"the queue slot for {spec.key!r} kept vanishing under retries of "
                      f"request_id {spec.request_id!r}; acquire again")

    async def _attempt(self, spec: AcquireSpec, start: float, wait_until: float,
                       deadline: float) -> Grant | Busy:
        """One try: a fresh attempt id, one enqueue, then wait, take over, or answer."""
        session = tokens.decode_session(spec.session_id) if spec.session_id else None
        a = Attempt(spec, tokens.new_uid(spec.key, spec.request_id), tokens.new_nonce(),
                     session)
        entry = state_pb2.Entry(owner=spec.owner, metadata=spec.metadata,
                                ttl_seconds=int(spec.ttl), queued_at_us=now_us(),
                                request_id=spec.request_id,
                                session=session.lease if session else 0, attempt=a.id)
        a.granted_us = entry.queued_at_us  # what a grant at once stores as acquired_at
        lease_until: float | None = None  # our own lease lives at least until then
        if session is None:
            a.lease, lease_until = await self.store.lock_lease(int(spec.ttl), deadline)
            r = await self._enqueue(a, entry, a.lease, spec.wait > 0, deadline)
        else:
            r = await self._enqueue(a, entry, session.lease, False, deadline)
            if r.outcome is Outcome.BUSY and spec.wait > 0:
                # Queue on a slot lease; even if the key went free meanwhile, the entry is not
                # marked granted until it sits on the session's lease (_wait moves it).
                a.lease = await self.store.grant(WAITER_TTL, deadline)
                r = await self._enqueue(a, entry, a.lease, True, deadline, mark_granted=False)
        if a.lease and r.outcome not in (Outcome.GRANTED, Outcome.QUEUED):
            await self.leaver.revoke_later(a.lease, deadline)  # nothing was written with it
        if r.outcome is Outcome.BUSY:
            return await self._busy(spec.key, r.holder, r.count, 0.0, deadline)
        if r.outcome is Outcome.RELEASED:
            raise FailedPrecondition(f"request_id: {spec.request_id!r} was already used for a "
                                     f"lock on {spec.key!r} that has been released; use a new one")
        c = r.contender
        assert c is not None
        if r.outcome is Outcome.EXISTS:
            return await self._retried(a, c, start, wait_until, deadline)
        if r.outcome is Outcome.GRANTED and (session is None or c.lease == session.lease):
            return await self._deliver(a, c, lease_until, deadline)
        # Queued (or granted on a session waiter's lease: it moves to the session in _wait).
        # The enqueue read the contender ahead: watch it from there, no re-read needed.
        queued = (Ahead(True, r.predecessor)
                  if r.outcome is Outcome.QUEUED and r.predecessor is not None else None)
        return await self._wait(a, c, start, wait_until, deadline, queued)

    async def _enqueue(self, a: Attempt, entry: state_pb2.Entry, lease: int, queue: bool,
                       deadline: float, mark_granted: bool = True) -> Enqueued:
        session = (a.session.lease, a.session.nonce) if a.session else None
        try:
            return await self.store.enqueue(a.spec.key, a.uid, entry, lease, queue, deadline,
                                            session, mark_granted)
        except LeaseGone as exc:
            if session is None:
                # Our own lease, granted a moment ago, is gone (etcd lost it, e.g. in a leader
                # change): etcd failed the whole write, so a retry with the same request_id
                # starts afresh. NOT_FOUND would tell the caller its lease is gone for good.
                raise Unavailable(f"acquire: the new lease for {a.spec.key!r} was lost before "
                                  "it was used; nothing was written, retry") from exc
            raise NotFound("session_id: the session has ended (expired or closed)") from exc
        except BaseException:
            # The write may have happened, or may still land: undo or fence it.
            await self.cleanups.run(lambda: self.leaver.undo(a), deadline, retry=True)
            raise

    async def _retried(self, a: Attempt, c: Contender, start: float, wait_until: float,
                       deadline: float) -> Grant | Busy:
        """A retry of a request_id whose contender `c` exists: carry on with it."""
        spec = a.spec
        if c.entry.owner != spec.owner or c.entry.session != (
                a.session.lease if a.session else 0):
            raise FailedPrecondition(f"request_id: {spec.request_id!r} is already used for "
                                     f"{spec.key!r} by owner {c.entry.owner!r} or under another "
                                     "session; use a new request_id")
        if not c.entry.acquired_at_us and spec.wait == 0:
            # A try-once retry only looks: it must not take the slot from the attempt that
            # queued it (it would leave the queue when it gives up).
            ahead = await self.store.ahead(c, deadline)
            if not ahead.alive:
                raise _SlotGone(f"the queued lease for {c.key!r} expired; acquire again")
            if ahead.predecessor is not None:
                holder, count = await self.store.head(c.key, deadline)
                return await self._busy(c.key, holder, count, 0.0, deadline)
        try:
            c = await self._take(a, c, deadline)
        except BaseException:
            await self.leaver.give_back(a, deadline)
            raise
        if c.entry.acquired_at_us:  # granted by another attempt: deliver, never delete
            return await self._deliver(a, c, None, deadline)
        return await self._wait(a, c, start, wait_until, deadline)

    async def _take(self, a: Attempt, c: Contender, deadline: float) -> Contender:
        """Claim `c` for this attempt, so that no earlier attempt's cleanup deletes it."""
        for _ in range(3):  # other attempts of this request_id may be taking it over too
            taken = await self._claim(a, c, _granted(c.entry, c.entry.acquired_at_us, a.id),
                                      deadline)
            if taken is not None:
                return taken
            found = await self.store.get(c.key, c.uid, deadline)
            if found is None or found.revision != c.revision:
                raise _SlotGone(f"the lease for {c.key!r} expired; acquire again")
            c = found
        raise Aborted(f"other attempts with this request_id keep taking over {c.key!r}; retry")

    @overload
    async def _claim(self, a: Attempt, c: Contender, entry: state_pb2.Entry, deadline: float,
                     lease: int = 0, head: Literal[False] = False) -> Contender | None: ...

    @overload
    async def _claim(self, a: Attempt, c: Contender, entry: state_pb2.Entry, deadline: float,
                     lease: int, head: Literal[True]) -> Contender | Ahead: ...

    async def _claim(self, a: Attempt, c: Contender, entry: state_pb2.Entry, deadline: float,
                     lease: int = 0, head: bool = False) -> Contender | Ahead | None:
        """`store.claim`, or `store.claim_head` (only if nobody is ahead) with `head`."""
        try:
            if head:
                return await self.store.claim_head(c, entry, deadline, lease)
            return await self.store.claim(c, entry, deadline, lease)
        except LeaseGone:
            raise  # refused: nothing was written
        except BaseException:
            a.lost_write = True  # cleanup fences the attempt before it reads back
            raise

    async def _wait(self, a: Attempt, c: Contender, start: float, wait_until: float,
                    deadline: float, queued: Ahead | None = None) -> Grant | Busy:
        """Wait in the queue until `c` holds the lock or `wait_until` passes. `queued`: where
        `c` stood when it was enqueued (else it is read first)."""
        keeper = (None if c.lease == c.entry.session
                  else asyncio.create_task(self._keep(c, a.session)))
        waiter_lease = c.lease
        lease_left: asyncio.Future[_LeaseLeft] | None = None
        woken = False
        self.recorder.queue_entered()
        try:
            while True:
                if keeper is not None and keeper.done():
                    if a.session:
                        raise NotFound("session_id: the session has ended (expired or "
                                       "closed), or its queue slot's lease was lost")
                    raise Aborted(f"the queued lease for {c.key!r} expired while waiting; "
                                  "acquire again with a new request_id")
                # If nobody is ahead, take it (onto the session's lease, for a session) in the
                # same step. The compare on the last write also fails if the lease expired
                # meanwhile (never grant a dead waiter: etcd #9921) or a retry took it over.
                got: Contender | Ahead
                if queued is not None:
                    got, queued = queued, None
                else:
                    a.granted_us = now_us()
                    if woken:  # likely our turn: renew (or read the session) alongside
                        lease_left = asyncio.ensure_future(self._lease_left(c, deadline))
                    try:
                        got = await self._claim(a, c, _granted(c.entry, a.granted_us, a.id),
                                                deadline, lease=c.entry.session, head=True)
                    except LeaseGone as exc:
                        raise NotFound("session_id: the session has ended (expired or "
                                       "closed)") from exc
                if isinstance(got, Contender):
                    c = got
                    break
                _drop(lease_left)
                lease_left = None
                if not got.alive:
                    raise Aborted(f"the queued lease for {c.key!r} expired while waiting; "
                                  "acquire again with a new request_id")
                if got.taken:
                    raise Aborted(f"a retry of this request_id took over its place in the "
                                  f"queue for {c.key!r}")
                if got.predecessor is None:
                    raise Aborted(f"the queued lease for {c.key!r} expired or was taken over "
                                  "as it was granted; acquire again")
                if time.monotonic() >= wait_until:
                    return await self._give_up(a, c, start, deadline)
                waiting = asyncio.ensure_future(self.store.wait_gone(
                    [got.predecessor, c], min(wait_until, deadline)))
                try:  # ... or until the keeper gives up on the slot
                    await asyncio.wait({waiting, *([keeper] if keeper else [])},
                                       return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiting.cancel()
                    await asyncio.gather(waiting, return_exceptions=True)
                woken = True
            if c.entry.session and waiter_lease != c.entry.session:
                # The slot moved to the session: its own lease is no longer needed.
                await self.leaver.revoke_later(waiter_lease, deadline)
        except BaseException:
            _drop(lease_left)
            await self.leaver.give_back(a, deadline)
            raise
        finally:
            self.recorder.queue_left()
            if keeper is not None:
                keeper.cancel()
        return await self._deliver(a, c, None, deadline, lease_left)

    async def _give_up(self, a: Attempt, c: Contender, start: float, deadline: float) -> Busy:
        found = await self.store.get(c.key, c.uid, deadline)
        if found is not None and found.entry.attempt != a.id:  # not ours to report on
            raise Aborted(f"a retry of this request_id took over its place in the queue for "
                          f"{c.key!r}")
        await self.leaver.give_back(a, deadline)
        try:
            holder, count = await self.store.head(c.key, deadline)
        except Unavailable:  # out of budget: say busy without naming the holder
            holder, count = None, 0
        return await self._busy(c.key, holder, count, time.monotonic() - start, deadline)

    async def _deliver(self, a: Attempt, c: Contender, lease_until: float | None,
                       deadline: float,
                       lease_left: asyncio.Future[_LeaseLeft] | None = None) -> Grant:
        """The Grant for `c`. `lease_until`: a time (monotonic) its own lease, granted or
        renewed for this attempt, lives at least until (store.lock_lease); None: renew it now
        (so that a waiter gets a full TTL from its grant), or take `lease_left`, that
        renewal already under way. If this fails, give `c` back, if it is this attempt's to
        give (see `Leaver.leave`)."""
        e = c.entry
        try:
            if lease_until is not None and not e.session:
                expires, ttl = lease_until, e.ttl_seconds
            else:
                now, left, ttl, alive = await (lease_left if lease_left is not None
                                               else self._lease_left(c, deadline))
                if not alive:
                    raise Aborted(f"the lease for {c.key!r} expired as it was granted; "
                                  "acquire again")
                # `now` was read before the lease was renewed, so `now + left` can only be
                # early: the lease lives at least that long (Lease.valid_for's source).
                expires = now + left
        except BaseException:
            _drop(lease_left)
            await self.leaver.give_back(a, deadline)
            raise
        token = tokens.encode_lease(tokens.LeaseRef(c.key, c.uid, c.lease, c.revision,
                                                    bool(e.session)))
        log.info("granted", extra={"key": c.key, "owner": e.owner, "fencing_token": c.revision})
        return Grant(c.key, e.owner, token, c.revision, (e.acquired_at_us or now_us()) / 1e6,
                     time.time() + (expires - time.monotonic()), ttl, dict(e.metadata),
                     a.spec.session_id, expires_mono=expires)

    async def _lease_left(self, c: Contender, deadline: float) -> _LeaseLeft:
        """When asked, the seconds left and TTL of the lease `c`'s grant lives on (its
        session's, or its own, renewed), and whether it is alive."""
        now = time.monotonic()
        if c.entry.session:
            left, ttl = await session_left(self.sessions, self.store, c.entry.session, deadline)
            return now, left, ttl, left >= 0
        ttl = left = await self.store.renew(c.lease, deadline)
        return now, left, ttl, left > 0

    async def _keep(self, c: Contender, session: tokens.SessionRef | None) -> None:
        """Renew a queued contender's own lease now (it may have been taken over from a dead
        coordinator) and every ttl/3; return when it is lost, or when the session it queues
        for has ended (CloseSession cannot see slots on their own leases)."""
        ttl = c.entry.ttl_seconds or WAITER_TTL
        last_ok = time.monotonic()
        while True:
            try:
                deadline = time.monotonic() + ttl / 3
                if await self.store.renew(c.lease, deadline) <= 0 or (
                        session and not await self.store.session_exists(
                            session.lease, session.nonce, deadline)):
                    return
                last_ok = time.monotonic()
            except Unavailable:
                if time.monotonic() - last_ok > ttl:
                    return
            await asyncio.sleep(ttl / 3)

    async def _busy(self, key: str, holder: Contender | None, count: int, waited: float,
                    deadline: float) -> Busy:
        if holder is None:
            return Busy(key, None, max(count - 1, 0), waited)
        try:
            left = (await self.store.time_to_live(holder.lease, deadline))[0]
        except Unavailable:
            left = -1  # unknown: the holder is still worth naming
        return Busy(key, holder_info(holder, left), max(count - 1, 0), waited)
