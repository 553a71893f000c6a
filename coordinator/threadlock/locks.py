"""LockManager: the lock protocol, written once over the `Store` interface.

Acquire (see store.py for the data model):
  1. a lease: the caller's session, or a new one with the requested TTL;
  2. `store.enqueue`: one atomic step that grants, queues, or reports busy;
  3. a queued contender waits for its predecessor's deletion (watch, not polling), re-reads,
     and holds the lock once nobody is ahead; the coordinator renews its lease meanwhile;
  4. on timeout, cancellation or any error the contender leaves the queue, with a fresh,
     bounded deadline (the caller's may be spent), and its own lease is revoked.

Public methods are policy (validation, deadlines, cleanup); `_wait` and the store calls are
single idempotent steps. Example, through the gRPC service or directly:

    manager = LockManager(MemoryStore(), Limits())
    result = await manager.acquire(AcquireSpec("conv_1", "worker-1", ttl=30, wait=10), 15)
    if isinstance(result, Grant): ...  # else Busy: result.holder says who has it

Failure modes: Unavailable when the store cannot answer in time (nothing is granted twice: a
grant is a single compare-and-put); Aborted when a queued lease expired; NotFound for a token
whose lease is gone.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time

from threadlock import tokens
from threadlock.cleanups import Cleanups, fresh_deadline
from threadlock.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound, Unavailable
from threadlock.internal import state_pb2
from threadlock.model import (
    AcquireSpec,
    Busy,
    Grant,
    HolderInfo,
    Limits,
    LockState,
    SessionGrant,
    WaiterInfo,
    check_acquire,
    check_text,
    check_ttl,
)
from threadlock.store import Contender, LeaseGone, Outcome, Removed, Store

log = logging.getLogger("threadlock.locks")

FINAL_STEPS = 0.5  # budget kept for the reads and cleanup after a wait elapses
TOMBSTONE_TTL = 90  # tombstones live 60-90 s: one lease serves all releases of 30 s
TOMBSTONE_ROTATE = 30.0


def _now_us() -> int:
    return int(time.time() * 1_000_000)


def _copy(entry: state_pb2.Entry) -> state_pb2.Entry:
    out = state_pb2.Entry()
    out.CopyFrom(entry)
    return out


def _granted(entry: state_pb2.Entry, at_us: int) -> state_pb2.Entry:
    out = _copy(entry)
    out.acquired_at_us = at_us
    return out


def holder_info(c: Contender, ttl_left: int) -> HolderInfo:
    e = c.entry
    acquired = (e.acquired_at_us or e.queued_at_us) / 1e6
    expires = time.time() + ttl_left if ttl_left > 0 else 0.0
    return HolderInfo(e.owner, c.revision, acquired, expires, dict(e.metadata))


class LockManager:
    def __init__(self, store: Store, limits: Limits) -> None:
        self.store = store
        self.limits = limits
        self._tombstone: tuple[int, float] | None = None  # (lease, granted at)
        self._tombstone_lock = asyncio.Lock()
        self._cleanups = Cleanups()

    async def close(self) -> None:
        """Every lock lives in the store; only cleanups in flight need a moment."""
        await self._cleanups.close()

    # Acquire ------------------------------------------------------------------------------
    async def acquire(self, spec: AcquireSpec, timeout: float) -> Grant | Busy:
        spec = check_acquire(spec, self.limits)
        start = time.monotonic()
        deadline = start + timeout
        # Stop waiting early enough to read the holder and leave the queue within the budget.
        wait_until = min(start + spec.wait, deadline - min(FINAL_STEPS, timeout / 4))
        session = tokens.decode_session(spec.session_id) if spec.session_id else None
        uid = tokens.new_uid(spec.key, spec.request_id)
        attempt = tokens.new_nonce()
        entry = state_pb2.Entry(owner=spec.owner, metadata=spec.metadata, ttl_seconds=int(spec.ttl),
                                queued_at_us=_now_us(), request_id=spec.request_id,
                                session=session.lease if session else 0, attempt=attempt)
        granted_at = time.time()  # the lease's clock starts before its grant is requested
        own = 0 if session else await self.store.grant(int(spec.ttl), deadline)
        lease = session.lease if session else own
        try:
            r = await self.store.enqueue(spec.key, uid, entry, lease, spec.wait > 0, deadline,
                                         session.nonce if session else "")
        except LeaseGone as exc:
            if own:
                raise
            raise NotFound("session_id: the session has ended (expired or closed)") from exc
        except BaseException:
            # The write may have happened: undo it if it did (and nobody took it over since).
            await self._cleanups.run(lambda: self._undo(spec.key, uid, own, attempt),
                                     deadline, retry=not own)
            raise
        if own and r.outcome not in (Outcome.GRANTED, Outcome.QUEUED):
            # Nothing was written with this lease.
            await self._cleanups.run(lambda: self._revoke(own), deadline, retry=False)
        if r.outcome is Outcome.BUSY:
            return await self._busy(spec.key, r.holder, r.count, 0.0, deadline)
        if r.outcome is Outcome.RELEASED:
            raise FailedPrecondition(f"request_id: {spec.request_id!r} was already used for a "
                                     f"lock on {spec.key!r} that has been released; use a new one")
        c = r.contender
        assert c is not None
        if r.outcome is Outcome.GRANTED:
            return await self._deliver(c, spec, granted_at, deadline, deletable=True)
        if r.outcome is Outcome.QUEUED:
            return await self._wait(c, spec, start, wait_until, deadline, attempt)
        return await self._retried(c, spec, start, wait_until, deadline, attempt)

    async def _retried(self, c: Contender, spec: AcquireSpec, start: float, wait_until: float,
                       deadline: float, attempt: str) -> Grant | Busy:
        """A retry of a request_id whose contender `c` exists: continue with it."""
        if c.entry.owner != spec.owner or c.entry.session != (
                tokens.decode_session(spec.session_id).lease if spec.session_id else 0):
            raise FailedPrecondition(f"request_id: {spec.request_id!r} is already used for "
                                     f"{spec.key!r} by owner {c.entry.owner!r} or under another "
                                     "session; use a new request_id")
        granted = bool(c.entry.acquired_at_us)
        if not granted and spec.wait == 0:
            # A try-once retry only looks: it must not take the slot from the attempt that
            # queued it (it would leave the queue when it gives up).
            ahead = await self.store.ahead(c, deadline)
            if not ahead.alive:
                raise Aborted(f"the queued lease for {c.key!r} expired; acquire again")
            if ahead.predecessor is not None:
                holder, count = await self.store.head(c.key, deadline)
                return await self._busy(c.key, holder, count, 0.0, deadline)
        # Take it over, so that no earlier attempt's cleanup can delete what this one returns.
        c = await self._take(c, attempt, deadline)
        if granted:
            # Possibly handed out already by an earlier attempt: never delete it on failure.
            return await self._deliver(c, spec, None, deadline, deletable=False)
        return await self._wait(c, spec, start, wait_until, deadline, attempt)

    async def _take(self, c: Contender, attempt: str, deadline: float) -> Contender:
        for _ in range(3):  # other attempts of this request_id may be taking it over too
            entry = _copy(c.entry)
            entry.attempt = attempt
            taken = await self.store.claim(c, entry, deadline)
            if taken is not None:
                return taken
            found = await self.store.get(c.key, c.uid, deadline)
            if found is None or found.revision != c.revision:
                raise Aborted(f"the lease for {c.key!r} expired; acquire again")
            c = found
        raise Aborted(f"other attempts with this request_id keep taking over {c.key!r}; retry")

    async def _wait(self, c: Contender, spec: AcquireSpec, start: float, wait_until: float,
                    deadline: float, attempt: str) -> Grant | Busy:
        """Wait in the queue until `c` (this attempt's) holds the lock or `wait_until` passes."""
        keeper = None if c.entry.session else asyncio.create_task(self._keep(c))
        try:
            while True:
                ahead = await self.store.ahead(c, deadline)
                if not ahead.alive or (keeper is not None and keeper.done()):
                    raise Aborted(f"the queued lease for {c.key!r} expired while waiting; "
                                  "acquire again with a new request_id")
                if ahead.predecessor is None:
                    break
                if time.monotonic() >= wait_until:
                    return await self._give_up(c, start, deadline)
                watched = [(c.key, ahead.predecessor.uid), (c.key, c.uid)]
                await self.store.wait_gone(watched, ahead.revision, min(wait_until, deadline))
            # Nobody is ahead: mark it granted. The compare on our own last write also fails
            # if the lease expired meanwhile (never grant a dead waiter: etcd #9921).
            granted = await self.store.claim(c, _granted(c.entry, _now_us()), deadline)
            if granted is None:
                raise Aborted(f"the queued lease for {c.key!r} expired or was taken over as it "
                              "was granted; acquire again")
            c = granted
        except BaseException:
            await self._give_back(c, deadline)
            raise
        finally:
            if keeper is not None:
                keeper.cancel()
        return await self._deliver(c, spec, None, deadline, deletable=True)

    async def _give_up(self, c: Contender, start: float, deadline: float) -> Busy:
        await self._give_back(c, deadline)
        try:
            holder, count = await self.store.head(c.key, deadline)
        except Unavailable:  # out of budget: say busy without naming the holder
            holder, count = None, 0
        return await self._busy(c.key, holder, count, time.monotonic() - start, deadline)

    async def _deliver(self, c: Contender, spec: AcquireSpec, granted_at: float | None,
                       deadline: float, *, deletable: bool) -> Grant:
        """Return the Grant for `c`; if that fails, give `c` up when it is ours to give."""
        try:
            grant = await self._grant(c, spec.session_id, granted_at, deadline)
        except BaseException:
            if deletable:
                await self._give_back(c, deadline)
            raise
        self._log("granted", c)
        return grant

    async def _keep(self, c: Contender) -> None:
        """Renew a queued contender's own lease every ttl/3; return when it is lost."""
        ttl = c.entry.ttl_seconds
        last_ok = time.monotonic()
        while True:
            await asyncio.sleep(ttl / 3)
            try:
                if await self.store.renew(c.lease, time.monotonic() + ttl / 3) <= 0:
                    return
                last_ok = time.monotonic()
            except Unavailable:
                if time.monotonic() - last_ok > ttl:
                    return

    async def _grant(self, c: Contender, session_id: str, granted_at: float | None,
                     deadline: float) -> Grant:
        """The Grant for `c`. `granted_at`: when its own lease was requested (a fresh lease);
        None: renew it now, so that a waiter gets a full TTL from its grant."""
        e = c.entry
        if e.session:
            now = time.time()
            left, ttl = await self.store.time_to_live(e.session, deadline)
            expires = now + left
        elif granted_at is not None:
            ttl = left = e.ttl_seconds
            expires = granted_at + ttl
        else:
            now = time.time()
            ttl = left = await self.store.renew(c.lease, deadline)
            expires = now + left
        if left <= 0:
            raise Aborted(f"the lease for {c.key!r} expired as it was granted; acquire again")
        token = tokens.encode_lease(tokens.LeaseRef(c.key, c.uid, c.lease, c.revision,
                                                    bool(e.session)))
        return Grant(c.key, e.owner, token, c.revision, (e.acquired_at_us or _now_us()) / 1e6,
                     expires, ttl, dict(e.metadata), session_id)

    async def _busy(self, key: str, holder: Contender | None, count: int, waited: float,
                    deadline: float) -> Busy:
        if holder is None:
            return Busy(key, None, max(count - 1, 0), waited)
        try:
            left = (await self.store.time_to_live(holder.lease, deadline))[0]
        except Unavailable:
            left = 0  # unknown: the holder is still worth naming
        return Busy(key, holder_info(holder, left), max(count - 1, 0), waited)

    async def _give_back(self, c: Contender, deadline: float) -> None:
        """Leave the queue (or drop an undelivered grant) as a cleanup: even if the caller
        was cancelled, without delaying its answer past `deadline`; retried for a session."""
        await self._cleanups.run(lambda: self._leave(c), deadline, retry=bool(c.entry.session))

    async def _leave(self, c: Contender) -> None:
        """Leave the queue (or give up a grant nobody was told of): delete `c` if this
        attempt still owns it, then its own lease."""
        deadline = fresh_deadline()
        if await self.store.discard(c, deadline) and not c.entry.session:
            await self.store.revoke(c.lease, deadline)

    async def _revoke(self, lease: int) -> None:
        await self.store.revoke(lease, fresh_deadline())

    async def _undo(self, key: str, uid: str, own_lease: int, attempt: str) -> None:
        """After an enqueue whose outcome is unknown: delete what it wrote, if it wrote."""
        deadline = fresh_deadline()
        c = await self.store.get(key, uid, deadline)
        if c is not None and c.entry.attempt == attempt:
            await self._leave(c)
        elif c is None and own_lease:
            await self.store.revoke(own_lease, deadline)  # it carries nothing

    # Release and renewal ------------------------------------------------------------------
    async def release(self, token: str, timeout: float) -> bool:
        ref = tokens.decode_lease(token)
        deadline = time.monotonic() + timeout
        try:
            tomb = await self._tombstone_lease(deadline)
            removed = await self.store.remove(ref.key, ref.uid, ref.revision, tomb, deadline)
        except LeaseGone:  # the tombstone lease expired (e.g. a long etcd outage): renew it
            self._tombstone = None
            tomb = await self._tombstone_lease(deadline)
            removed = await self.store.remove(ref.key, ref.uid, ref.revision, tomb, deadline)
        if removed is Removed.REMOVED:
            log.info("released", extra={"key": ref.key, "fencing_token": ref.revision})
            if not ref.session:
                await self._cleanups.run(lambda: self._revoke(ref.lease), deadline,
                                         retry=False)
            return True
        if removed is Removed.ALREADY:
            return False
        raise NotFound(f"lease_token: no lease on {ref.key!r} matches this token: it expired, "
                       "its session ended, or it was released long ago; nothing was changed")

    async def keepalive_lease(self, token: str, timeout: float) -> tuple[float, int]:
        ref = tokens.decode_lease(token)
        deadline = time.monotonic() + timeout
        # Check that the lock itself exists before renewing: a lease can outlive its lock (a
        # session's always does), and a token that names no lock must not keep any lease alive.
        lock = await self.store.get(ref.key, ref.uid, deadline)
        now = time.time()
        ttl = 0
        if lock is not None and (lock.revision, lock.lease) == (ref.revision, ref.lease):
            ttl = await self.store.renew(ref.lease, deadline)
        if ttl <= 0:
            raise NotFound(f"lease_token: the lease on {ref.key!r} is gone (expired, released, "
                           "or its session ended); stop the work it protected")
        return now + ttl, ttl

    async def _tombstone_lease(self, deadline: float) -> int:
        async with self._tombstone_lock:
            now = time.monotonic()
            if self._tombstone is None or now - self._tombstone[1] > TOMBSTONE_ROTATE:
                self._tombstone = (await self.store.grant(TOMBSTONE_TTL, deadline), now)
            return self._tombstone[0]

    # Sessions -----------------------------------------------------------------------------
    async def open_session(self, owner: str, ttl: float, timeout: float) -> SessionGrant:
        check_text("owner", owner, self.limits.max_owner_bytes)
        seconds = check_ttl("ttl", ttl, self.limits)
        deadline = time.monotonic() + timeout
        granted_at = time.time()
        lease = await self.store.grant(seconds, deadline)
        nonce = tokens.new_nonce()
        record = state_pb2.SessionRecord(owner=owner, ttl_seconds=seconds, opened_at_us=_now_us())
        try:
            await self.store.put_session(lease, nonce, record, deadline)
        except BaseException:
            await self._cleanups.run(lambda: self._revoke(lease), deadline, retry=False)
            raise
        session_id = tokens.encode_session(tokens.SessionRef(lease, nonce))
        return SessionGrant(session_id, granted_at + seconds, seconds)

    async def keepalive_session(self, session_id: str, timeout: float) -> tuple[float, int]:
        ref = tokens.decode_session(session_id)
        deadline = time.monotonic() + timeout
        now = time.time()
        ttl = 0
        if await self.store.session_exists(ref.lease, ref.nonce, deadline):  # then renew
            ttl = await self.store.renew(ref.lease, deadline)
        if ttl <= 0:
            raise NotFound("session_id: the session has ended (expired or closed); "
                           "its locks are free")
        return now + ttl, ttl

    async def close_session(self, session_id: str, timeout: float) -> bool:
        ref = tokens.decode_session(session_id)
        deadline = time.monotonic() + timeout
        if not await self.store.session_exists(ref.lease, ref.nonce, deadline):
            return False
        await self.store.revoke(ref.lease, deadline)  # deletes every lock of the session
        return True

    # Status -------------------------------------------------------------------------------
    async def status(self, key: str | None, prefix: str | None, page_size: int,
                     page_token: str, timeout: float) -> tuple[list[LockState], str]:
        if key is not None:
            check_text("key", key, self.limits.max_key_bytes)
        if prefix:
            check_text("prefix", prefix, self.limits.max_key_bytes)
        if not 0 <= page_size <= 1000:
            raise InvalidArgument("page_size", f"must be between 0 and 1000, got {page_size}")
        after = _decode_page(page_token)
        deadline = time.monotonic() + timeout
        groups, more = await self.store.scan(key if key is not None else prefix or "",
                                             key is not None, after, page_size or 100, deadline)
        ttls = [left for left, _ in await asyncio.gather(
            *(self.store.time_to_live(g[0].lease, deadline) for g in groups))]
        states = [LockState(g[0].key, holder_info(g[0], ttl),
                            [WaiterInfo(w.entry.owner, i, w.entry.queued_at_us / 1e6,
                                        dict(w.entry.metadata)) for i, w in enumerate(g[1:], 1)])
                  for g, ttl in zip(groups, ttls, strict=True)]
        token = _encode_page(groups[-1][0].key) if more and groups else ""
        return states, token

    def _log(self, what: str, c: Contender) -> None:
        log.info(what, extra={"key": c.key, "owner": c.entry.owner, "fencing_token": c.revision})


def _encode_page(last_key: str) -> str:
    return base64.urlsafe_b64encode(last_key.encode()).decode()


def _decode_page(token: str) -> str:
    if not token:
        return ""
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument("page_token", "is not a token from a previous Status call") from exc
