"""LockManager: what the gRPC service calls, one method per RPC, over the `Store` interface.

Acquire's protocol lives in acquire.py; Release, KeepAlive, sessions and Status are single
store steps, here. Example, through the gRPC service or directly:

    manager = LockManager(MemoryStore(), Limits())
    result = await manager.acquire(AcquireSpec("conv_1", "worker-1", ttl=30, wait=10), 15)
    if isinstance(result, Grant): ...  # else Busy: result.holder says who has it

Failure modes: Unavailable when the store cannot answer in time; NotFound for a token whose
lease is gone; InvalidArgument for bad input (the message names the field).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time

from threadlock import tokens
from threadlock.acquire import Acquirer, holder_info, now_us
from threadlock.cleanups import TIMEOUT as CLEANUP_TIMEOUT
from threadlock.cleanups import Cleanups
from threadlock.errors import InvalidArgument, NotFound, Unavailable
from threadlock.internal import state_pb2
from threadlock.metrics import Recorder
from threadlock.model import (
    AcquireSpec,
    Busy,
    Grant,
    Limits,
    LockState,
    SessionGrant,
    WaiterInfo,
    check_acquire,
    check_metadata,
    check_text,
    check_ttl,
)
from threadlock.session_clock import SessionClock, session_left
from threadlock.store import Contender, LeaseGone, Removed, Store

log = logging.getLogger("threadlock.locks")

TOMBSTONE_TTL = 90  # tombstones live 60-90 s: one lease serves all releases of 30 s
TOMBSTONE_ROTATE = 30.0


class LockManager:
    def __init__(self, store: Store, limits: Limits, recorder: Recorder | None = None) -> None:
        self.store = store
        self.limits = limits
        self.recorder = recorder or Recorder()
        self._tombstone: tuple[int, float] | None = None  # (lease, granted at)
        self._tombstone_lock = asyncio.Lock()
        self._cleanups = Cleanups()
        self._sessions = SessionClock()
        self._acquirer = Acquirer(store, self._cleanups, self.recorder, self._sessions)

    async def close(self, timeout: float = CLEANUP_TIMEOUT) -> None:
        """Every lock lives in the store; only cleanups in flight need a moment (at most
        `timeout` seconds; the rest end with their leases)."""
        await self._cleanups.close(timeout)

    async def acquire(self, spec: AcquireSpec, timeout: float) -> Grant | Busy:
        """Take `spec.key`, or say who holds it (see acquire.py for the protocol)."""
        return await self._acquirer.acquire(check_acquire(spec, self.limits), timeout)

    # Release and renewal ------------------------------------------------------------------
    async def release(self, token: str, timeout: float) -> bool:
        ref = tokens.decode_lease(token)
        deadline = time.monotonic() + timeout
        try:
            tomb = await self._tombstone_lease(deadline)
            removed, was = await self.store.remove(ref.key, ref.uid, ref.revision, ref.lease,
                                                   tomb, deadline)
        except LeaseGone:  # the tombstone lease expired (e.g. a long etcd outage): renew it
            self._tombstone = None
            tomb = await self._tombstone_lease(deadline)
            removed, was = await self.store.remove(ref.key, ref.uid, ref.revision, ref.lease,
                                                   tomb, deadline)
        if removed is Removed.REMOVED:
            owner = was.entry.owner if was is not None else ""
            log.info("released", extra={"key": ref.key, "owner": owner,
                                        "fencing_token": ref.revision})
            if was is not None and was.entry.acquired_at_us:
                self.recorder.released(time.time() - was.entry.acquired_at_us / 1e6)
            # The lock's own lease, keyless now: kept for the next lock of its TTL, else
            # revoked (without a wait).
            if (was is not None and was.lease != was.entry.session
                    and not self.store.recycle(ref.lease, was.entry.ttl_seconds)):
                self._acquirer.leaver.revoke_soon(ref.lease)
            return True
        if removed is Removed.ALREADY:
            return False
        raise NotFound(f"lease_token: no lease on {ref.key!r} matches this token: it expired, "
                       "its session ended, or it was released long ago; nothing was changed")

    async def keepalive_lease(self, token: str, timeout: float,
                              metadata: dict[str, str] | None = None) -> tuple[float, int]:
        ref = tokens.decode_lease(token)
        if metadata:
            check_metadata(metadata, self.limits)
        deadline = time.monotonic() + timeout
        # Check that the lock itself exists before renewing: a lease can outlive its lock (a
        # session's always does), and a token that names no lock must not keep any lease alive.
        lock = await self.store.get(ref.key, ref.uid, deadline)
        now = time.time()
        ttl = 0
        if lock is not None and (lock.revision, lock.lease) == (ref.revision, ref.lease):
            if metadata and not await self._annotate(lock, metadata, deadline):
                lock = None  # it went away while we wrote
            else:
                ttl = await self.store.renew(ref.lease, deadline)
        if ttl <= 0:
            self.recorder.lease_expired()
            # The entry is gone with its lease: the key and fencing token name the lock.
            log.info("keepalive refused: lease gone", extra={
                "key": ref.key, "fencing_token": ref.revision,
                "owner": lock.entry.owner if lock is not None else None})
            raise NotFound(f"lease_token: the lease on {ref.key!r} is gone (expired, released, "
                           "or its session ended); stop the work it protected")
        return now + ttl, ttl

    async def _annotate(self, lock: Contender, update: dict[str, str], deadline: float) -> bool:
        """Merge `update` into the lock's metadata by compare-and-put on its mod revision (the
        attempt id stays, so ownership is unchanged); re-read and retry if another write won."""
        for _ in range(5):
            entry = state_pb2.Entry()
            entry.CopyFrom(lock.entry)
            for k, v in update.items():
                if v:
                    entry.metadata[k] = v
                else:
                    entry.metadata.pop(k, None)
            check_metadata(dict(entry.metadata), self.limits)
            if await self.store.claim(lock, entry, deadline) is not None:
                return True
            again = await self.store.get(lock.key, lock.uid, deadline)
            if again is None or (again.revision, again.lease) != (lock.revision, lock.lease):
                return False
            lock = again
        raise Unavailable(f"metadata: {lock.key!r} kept changing under the update; retry")

    async def _tombstone_lease(self, deadline: float) -> int:
        try:
            async with asyncio.timeout(max(deadline - time.monotonic(), 0)):
                await self._tombstone_lock.acquire()
        except TimeoutError as exc:
            raise Unavailable("the store did not answer in time (tombstone lease)") from exc
        try:
            now = time.monotonic()
            if self._tombstone is None or now - self._tombstone[1] > TOMBSTONE_ROTATE:
                self._tombstone = (await self.store.grant(TOMBSTONE_TTL, deadline), now)
            return self._tombstone[0]
        finally:
            self._tombstone_lock.release()

    # Sessions -----------------------------------------------------------------------------
    async def open_session(self, owner: str, ttl: float, timeout: float) -> SessionGrant:
        check_text("owner", owner, self.limits.max_owner_bytes)
        seconds = check_ttl("ttl", ttl, self.limits)
        deadline = time.monotonic() + timeout
        granted_at, asked = time.time(), time.monotonic()
        lease = await self.store.grant(seconds, deadline)
        nonce = tokens.new_nonce()
        record = state_pb2.SessionRecord(owner=owner, ttl_seconds=seconds, opened_at_us=now_us())
        try:
            await self.store.put_session(lease, nonce, record, deadline)
        except BaseException:
            await self._acquirer.leaver.revoke_later(lease, deadline)
            raise
        session_id = tokens.encode_session(tokens.SessionRef(lease, nonce))
        self._sessions.note(lease, asked + seconds, seconds)
        return SessionGrant(session_id, granted_at + seconds, seconds)

    async def keepalive_session(self, session_id: str, timeout: float) -> tuple[float, int]:
        ref = tokens.decode_session(session_id)
        deadline = time.monotonic() + timeout
        now, asked = time.time(), time.monotonic()
        ttl = 0
        if await self.store.session_exists(ref.lease, ref.nonce, deadline):  # then renew
            asked = time.monotonic()  # the renewal counts from when it was sent, at the latest
            ttl = await self.store.renew(ref.lease, deadline)
        if ttl > 0:
            self._sessions.note(ref.lease, asked + ttl, ttl)
        else:
            self._sessions.forget(ref.lease)
            self.recorder.lease_expired()
            log.info("keepalive refused: session gone", extra={"session_lease": ref.lease})
            raise NotFound("session_id: the session has ended (expired or closed); "
                           "its locks are free")
        return now + ttl, ttl

    async def close_session(self, session_id: str, timeout: float) -> bool:
        ref = tokens.decode_session(session_id)
        deadline = time.monotonic() + timeout
        self._sessions.forget(ref.lease)
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
        ttls = await asyncio.gather(*(self._left(g[0], deadline) for g in groups))
        states = [LockState(g[0].key, holder_info(g[0], ttl),
                            [WaiterInfo(w.entry.owner, i, w.entry.queued_at_us / 1e6,
                                        dict(w.entry.metadata)) for i, w in enumerate(g[1:], 1)])
                  for g, ttl in zip(groups, ttls, strict=True)]
        token = _encode_page(groups[-1][0].key) if more and groups else ""
        return states, token

    async def _left(self, holder: Contender, deadline: float) -> int:
        """Seconds left on a holder's lease (a session's may be known here: only ever early)."""
        if holder.lease == holder.entry.session:
            return (await session_left(self._sessions, self.store, holder.lease, deadline))[0]
        return (await self.store.time_to_live(holder.lease, deadline))[0]


def _encode_page(last_key: str) -> str:
    return base64.urlsafe_b64encode(last_key.encode()).decode()


def _decode_page(token: str) -> str:
    if not token:
        return ""
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument("page_token", "is not a token from a previous Status call") from exc
