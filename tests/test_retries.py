"""Retries and cleanups that race, driven at the LockManager level against both stores (a
real etcd, and the embedded store): an attempt may only delete what it wrote or read itself,
never a grant another attempt of the same request_id made meanwhile."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
from typing import Any

import pytest
from etcd_server import EtcdServer
from harness import eventually

from threadlock.errors import Aborted, LockError, Unavailable
from threadlock.etcd.store import EtcdStore
from threadlock.internal import state_pb2
from threadlock.locks import LockManager
from threadlock.memory import MemoryStore
from threadlock.model import AcquireSpec, Busy, Grant, Limits
from threadlock.store import Ahead, Contender, Enqueued, Outcome, Store

pytestmark = pytest.mark.asyncio


class Slow:
    """The real store, with chosen calls held back: a cancelled attempt's cleanup (discard) or
    renewal is then still in flight while a retry of the same request goes on. A call held
    back waits on an event the test sets once the race it stages is in place, never on a
    timer, so the outcome does not depend on how fast a loaded machine runs the other side."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.discards: list[bool] = []
        self.renewing = asyncio.Event()
        self.discarding = asyncio.Event()  # a (slow) discard has begun
        self.discards_open = asyncio.Event()  # cleared: discards wait until it is set
        self.renewals_open = asyncio.Event()  # cleared: renewals wait until it is set
        self.discards_open.set()
        self.renewals_open.set()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    async def discard(self, c: Contender, deadline: float) -> bool:
        self.discarding.set()
        await self.discards_open.wait()
        deleted = await self.inner.discard(c, deadline)
        self.discards.append(deleted)
        return deleted

    async def renew(self, lease: int, deadline: float) -> int:
        self.renewing.set()
        await self.renewals_open.wait()
        return await self.inner.renew(lease, deadline)


async def test_claim_head_grants_only_when_nobody_is_ahead(store: Store) -> None:
    """The one-step grant of a woken waiter: refused (with where it stands) while anyone is
    ahead, applied once it is first, refused when its contender was written since."""
    deadline = asyncio.get_running_loop().time() + 10

    async def enqueue(uid: str) -> Contender:
        lease = await store.grant(30, deadline)
        r = await store.enqueue("conv_h", uid, state_pb2.Entry(owner=uid, attempt=uid), lease,
                                True, deadline)
        assert r.outcome in (Outcome.GRANTED, Outcome.QUEUED) and r.contender is not None
        return r.contender

    holder, waiter = await enqueue("u1"), await enqueue("u2")
    granted = state_pb2.Entry(owner="u2", attempt="u2", acquired_at_us=1)
    ahead = await store.claim_head(waiter, granted, deadline)
    assert isinstance(ahead, Ahead) and ahead.alive
    assert ahead.predecessor is not None and ahead.predecessor.uid == "u1"
    await store.remove("conv_h", "u1", holder.revision, holder.lease, 0, deadline)
    took = await store.claim_head(waiter, granted, deadline)
    assert isinstance(took, Contender) and took.revision == waiter.revision
    assert took.entry.acquired_at_us == 1
    stale = await store.claim_head(waiter, granted, deadline)  # written since `waiter` was read
    assert isinstance(stale, Ahead) and stale.alive and stale.predecessor is None
    assert await _holder_revision(store, "conv_h") == waiter.revision


async def test_wait_gone_sees_what_happened_before_it_was_called(store: Store) -> None:
    """A waiter reads, then waits: a deletion (or a new contender of the same name) in between
    must still wake it, and a contender that stays must not."""
    deadline = asyncio.get_running_loop().time() + 60

    async def enqueue(uid: str) -> Contender:
        lease = await store.grant(30, deadline)
        r = await store.enqueue("conv_w", uid, state_pb2.Entry(owner=uid, attempt=uid), lease,
                                True, deadline)
        assert r.contender is not None
        return r.contender

    first, second = await enqueue("u1"), await enqueue("u2")
    await store.remove("conv_w", "u1", first.revision, first.lease, 0, deadline)
    await asyncio.wait_for(store.wait_gone([first, second], deadline), 10)  # gone before
    again = await enqueue("u1")  # same name, newer contender: the one read is gone too
    assert again.revision > first.revision
    await asyncio.wait_for(store.wait_gone([first], deadline), 10)
    still = asyncio.ensure_future(store.wait_gone([second, again], deadline))
    done, _ = await asyncio.wait({still}, timeout=0.5)
    assert not done  # both exist as read: it waits
    await store.remove("conv_w", "u2", second.revision, second.lease, 0, deadline)
    await asyncio.wait_for(still, 10)


async def _holder_revision(store: Store, key: str) -> int:
    holder, _ = await store.head(key, asyncio.get_running_loop().time() + 5)
    return holder.revision if holder else 0


async def test_failed_retry_of_a_session_acquire_keeps_the_grant(store: Store) -> None:
    m = LockManager(store, Limits())
    session = await m.open_session("proc", 30, 5)
    spec = AcquireSpec("conv_1", "w1", ttl=0, wait=0, request_id="r1",
                       session_id=session.session_id)
    first = await m.acquire(spec, 5)
    assert isinstance(first, Grant)
    # A retry with no budget left fails (or, where nothing needs the network, succeeds)...
    try:
        again = await m.acquire(spec, 0.0)
        assert isinstance(again, Grant) and again.lease_token == first.lease_token
    except LockError:
        pass
    # ...and the lock granted to the first attempt is still there, still renewable.
    busy = await m.acquire(AcquireSpec("conv_1", "w2", ttl=10, wait=0), 5)
    assert not isinstance(busy, Grant) and busy.holder is not None
    assert busy.holder.fencing_token == first.fencing_token
    await m.keepalive_lease(first.lease_token, 5)


async def test_cancelled_attempt_cleanup_spares_the_retry_grant(store: Store) -> None:
    """A queued attempt is cancelled; its cleanup has read its slot and is about to delete it
    when a retry takes the slot over and is granted: the cleanup must leave the grant be."""
    slow = Slow(store)
    m = LockManager(slow, Limits())  # type: ignore[arg-type]
    holder, spec, first = await _held_and_queued(m, "conv_2", "r2")
    slow.discards_open.clear()  # the cleanup's delete waits until the retry holds the lock
    first.cancel()
    await asyncio.wait_for(slow.discarding.wait(), 10)  # it read the slot as its own
    await m.release(holder.lease_token, 5)
    retry = await m.acquire(spec, 40)  # resumes the slot, nobody ahead: granted
    assert isinstance(retry, Grant)
    slow.discards_open.set()
    with pytest.raises(asyncio.CancelledError):
        await first
    await eventually(lambda: _done(slow))
    assert slow.discards == [False]  # the stale cleanup saw the grant and kept its hands off
    assert await _holder_revision(store, "conv_2") == retry.fencing_token
    await m.keepalive_lease(retry.lease_token, 5)


async def _held_and_queued(m: LockManager, key: str, request_id: str
                           ) -> tuple[Grant, AcquireSpec, asyncio.Task[Grant | Busy]]:
    """`key` held by "h", and a first attempt of `request_id` by "w1" queued behind it."""
    holder = await m.acquire(AcquireSpec(key, "h", ttl=30, wait=0), 5)
    assert isinstance(holder, Grant)
    spec = AcquireSpec(key, "w1", ttl=30, wait=30, request_id=request_id)
    first = asyncio.create_task(m.acquire(spec, 40))
    await eventually(functools.partial(_queued, m, key))
    return holder, spec, first


async def _queued(m: LockManager, key: str) -> bool:
    states, _ = await m.status(key, None, 0, "", 5)
    return bool(states and states[0].waiters)


async def _done(slow: Slow) -> bool:
    return bool(slow.discards)


async def test_try_once_retry_does_not_take_the_slot_away(store: Store) -> None:
    m = LockManager(store, Limits())
    holder, _spec, first = await _held_and_queued(m, "conv_3", "r3")
    peek = await m.acquire(AcquireSpec("conv_3", "w1", ttl=30, wait=0, request_id="r3"), 5)
    assert not isinstance(peek, Grant)
    assert await _queued(m, "conv_3")  # still queued
    await m.release(holder.lease_token, 5)
    assert isinstance(await asyncio.wait_for(first, 30), Grant)


async def test_memory_fencing_tokens_keep_increasing_across_restarts() -> None:
    tokens = []
    for _ in range(2):
        store = MemoryStore()
        m = LockManager(store, Limits())
        grant = await m.acquire(AcquireSpec("conv_4", "w", ttl=10, wait=0), 5)
        assert isinstance(grant, Grant)
        tokens.append(grant.fencing_token)
        await store.close()
    assert tokens[1] > tokens[0]


async def test_stale_cleanup_of_a_cancelled_grant_spares_the_retry(store: Store) -> None:
    """The attempt is cancelled after it marked the lock granted, while it renews the lease;
    its cleanup reads the grant as its own; the client retries at once and gets the lock; the
    first attempt's delete lands late and must leave the retry's grant be."""
    slow = Slow(store)
    m = LockManager(slow, Limits())  # type: ignore[arg-type]
    holder, spec, first = await _held_and_queued(m, "conv_5", "r5")
    slow.renewals_open.clear()  # the grant's renewal waits: the attempt stays in _deliver
    slow.discards_open.clear()  # and its cleanup's delete waits until the retry holds it
    await m.release(holder.lease_token, 5)
    await eventually(lambda: _granted_to(store, "conv_5", "w1"))  # the claim has landed
    first.cancel()
    await asyncio.wait_for(slow.discarding.wait(), 10)  # it read the grant as its own
    slow.renewals_open.set()
    retry = await m.acquire(spec, 40)
    assert isinstance(retry, Grant)
    slow.discards_open.set()
    with pytest.raises(asyncio.CancelledError):
        await first
    await eventually(lambda: _done(slow))
    assert slow.discards == [False]
    assert await _holder_revision(store, "conv_5") == retry.fencing_token
    await m.keepalive_lease(retry.lease_token, 5)


async def _granted_to(store: Store, key: str, owner: str) -> bool:
    holder, _ = await store.head(key, asyncio.get_running_loop().time() + 5)
    return holder is not None and holder.entry.owner == owner and bool(
        holder.entry.acquired_at_us)


async def test_failed_peek_never_deletes_a_delivered_lock(store: Store) -> None:
    slow = Slow(store)
    m = LockManager(slow, Limits())  # type: ignore[arg-type]
    spec = AcquireSpec("conv_6", "w1", ttl=30, wait=30, request_id="r6")
    delivered = await m.acquire(spec, 5)
    assert isinstance(delivered, Grant)
    slow.renewals_open.clear()
    slow.renewing.clear()
    peek = asyncio.create_task(m.acquire(AcquireSpec("conv_6", "w1", ttl=30, wait=0,
                                                     request_id="r6"), 10))
    await asyncio.wait_for(slow.renewing.wait(), 10)
    peek.cancel()
    with pytest.raises(asyncio.CancelledError):
        await peek
    slow.renewals_open.set()
    await m.close()  # lets any cleanup finish
    assert slow.discards == []
    assert await _holder_revision(store, "conv_6") == delivered.fencing_token


class Faulty:
    """The real store with one fault at a time: a claim that applies but whose answer is
    lost, a claim held back, or an enqueue whose answer is lost and which lands late."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.lose_grant_claim = False
        self.takeovers_open = asyncio.Event()  # cleared: take-over claims wait until it is set
        self.takeovers_open.set()
        self.holding = asyncio.Event()  # a take-over claim is being held back
        self.late_enqueue: asyncio.Task[object] | None = None
        self.lose_next_enqueue = False
        self.late_takeover: asyncio.Task[object] | None = None
        self.lose_next_takeover = False
        self.revoke_before_enqueue = False  # the own lease vanishes between grant and enqueue
        self.revoke_before_head_claim = False  # a woken waiter's lease vanishes before its claim

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    async def claim(self, c: Contender, entry: state_pb2.Entry, deadline: float,
                    lease: int = 0) -> Contender | None:
        if not self.takeovers_open.is_set() and not entry.acquired_at_us:
            self.holding.set()
            await self.takeovers_open.wait()
        if self.lose_next_takeover and not entry.acquired_at_us:
            self.lose_next_takeover = False

            async def land_late() -> object:
                await asyncio.sleep(0.5)
                return await self.inner.claim(c, entry, deadline + 10, lease)

            self.late_takeover = asyncio.create_task(land_late())
            raise Unavailable("injected: the take-over's answer was lost (it lands later)")
        result = await self.inner.claim(c, entry, deadline, lease)
        if self.lose_grant_claim and entry.acquired_at_us:
            raise Unavailable("injected: the claim applied, its answer was lost")
        return result

    async def claim_head(self, c: Contender, entry: state_pb2.Entry, deadline: float,
                         lease: int = 0) -> Contender | Ahead:
        if self.revoke_before_head_claim:
            self.revoke_before_head_claim = False
            await self.inner.revoke(c.lease, deadline)
        result = await self.inner.claim_head(c, entry, deadline, lease)  # a woken waiter's grant
        if self.lose_grant_claim and isinstance(result, Contender):
            raise Unavailable("injected: the claim applied, its answer was lost")
        return result

    async def enqueue(self, *args: Any, **kwargs: Any) -> Enqueued:
        if self.revoke_before_enqueue:
            self.revoke_before_enqueue = False
            lease, deadline = args[3], args[5]
            await self.inner.revoke(lease, deadline)  # as when etcd loses it in a leader change
        if self.lose_next_enqueue:
            self.lose_next_enqueue = False

            async def land_late() -> object:
                await asyncio.sleep(0.5)
                try:
                    return await self.inner.enqueue(*args, **kwargs)
                except LockError as exc:
                    return exc

            self.late_enqueue = asyncio.create_task(land_late())
            raise Unavailable("injected: the enqueue's answer was lost (it lands later)")
        return await self.inner.enqueue(*args, **kwargs)


async def test_own_lease_lost_before_the_enqueue_is_unavailable_and_retryable(
        store: Store) -> None:
    """A plain Acquire whose fresh lease is gone when it enqueues wrote nothing: it answers
    UNAVAILABLE (retry with the same request_id), never NOT_FOUND, which callers read as "your
    lease is gone" (chaos long run: 15 such answers while etcd leaders were killed)."""
    faulty = Faulty(store)
    m = LockManager(faulty, Limits())  # type: ignore[arg-type]
    spec = AcquireSpec("conv_lost_lease", "w", ttl=30, wait=5, request_id="req-lost-lease")
    faulty.revoke_before_enqueue = True
    with pytest.raises(Unavailable, match="nothing was written"):
        await m.acquire(spec, 10)
    assert (await m.status("conv_lost_lease", None, 0, "", 5))[0] == []  # nothing left behind
    got = await m.acquire(spec, 10)  # the same request_id, as a caller's retry
    assert isinstance(got, Grant)


async def test_a_waiter_whose_own_lease_vanished_is_aborted_not_not_found(
        store: Store) -> None:
    """A queued plain Acquire whose lease is gone when it claims the lock answers ABORTED
    (re-queue with a new request_id, which the SDKs do within the wait), not NOT_FOUND about
    a session it never had."""
    faulty = Faulty(store)
    m = LockManager(faulty, Limits())  # type: ignore[arg-type]
    holder = await m.acquire(AcquireSpec("conv_vanish", "h", ttl=30, wait=0), 5)
    assert isinstance(holder, Grant)
    waiter = asyncio.create_task(m.acquire(AcquireSpec("conv_vanish", "w", ttl=30, wait=30), 40))
    await eventually(functools.partial(_queued, m, "conv_vanish"))
    faulty.revoke_before_head_claim = True
    await m.release(holder.lease_token, 5)
    with pytest.raises(Aborted, match="queued lease"):
        await waiter


async def test_lost_answer_of_a_grant_claim_leaves_no_orphan(store: Store) -> None:
    faulty = Faulty(store)
    m = LockManager(faulty, Limits())  # type: ignore[arg-type]
    session = await m.open_session("proc", 60, 5)
    holder = await m.acquire(AcquireSpec("conv_7", "h", ttl=30, wait=0), 5)
    assert isinstance(holder, Grant)
    waiter = asyncio.create_task(m.acquire(AcquireSpec(
        "conv_7", "w", ttl=0, wait=30, session_id=session.session_id), 40))
    await eventually(functools.partial(_queued, m, "conv_7"))
    faulty.lose_grant_claim = True
    await m.release(holder.lease_token, 5)
    with pytest.raises(Unavailable):
        await waiter
    faulty.lose_grant_claim = False
    # Its cleanup found its own write by its attempt id and removed it: the key is free,
    # although the session (which would keep an orphan forever) is alive.
    await eventually(functools.partial(_free, m, "conv_7"))
    await m.keepalive_session(session.session_id, 5)


async def _free(m: LockManager, key: str) -> bool:
    states, _ = await m.status(key, None, 0, "", 5)
    return not states


async def test_late_session_enqueue_is_fenced_off(store: Store) -> None:
    faulty = Faulty(store)
    m = LockManager(faulty, Limits())  # type: ignore[arg-type]
    session = await m.open_session("proc", 60, 5)
    faulty.lose_next_enqueue = True
    with pytest.raises(Unavailable):
        await m.acquire(AcquireSpec("conv_8", "w", ttl=0, wait=0,
                                    session_id=session.session_id), 5)
    assert faulty.late_enqueue is not None
    late = await asyncio.wait_for(faulty.late_enqueue, 10)
    assert isinstance(late, LockError)  # fenced: it could not land
    assert await _free(m, "conv_8")


async def test_retry_that_finds_the_request_granted_meanwhile_never_deletes_it(
        store: Store) -> None:
    faulty = Faulty(store)
    slow = Slow(faulty)  # type: ignore[arg-type]
    m = LockManager(slow, Limits())  # type: ignore[arg-type]
    holder, spec, first = await _held_and_queued(m, "conv_9", "r9")
    # The retry reads the slot queued, but its take-over is held back while the first
    # attempt is granted and answers; then the retry re-reads it granted.
    faulty.takeovers_open.clear()
    retry = asyncio.create_task(m.acquire(spec, 40))
    await asyncio.wait_for(faulty.holding.wait(), 10)  # it read the slot queued: held back
    await m.release(holder.lease_token, 5)
    delivered = await asyncio.wait_for(first, 10)
    assert isinstance(delivered, Grant)
    slow.renewals_open.clear()
    slow.renewing = asyncio.Event()
    faulty.takeovers_open.set()
    await asyncio.wait_for(slow.renewing.wait(), 10)  # the retry is finishing its grant:
    retry.cancel()  # cut it off
    with pytest.raises(asyncio.CancelledError):
        await retry
    slow.renewals_open.set()
    await m.close()  # let its cleanup run to the end
    assert await _holder_revision(store, "conv_9") == delivered.fencing_token


async def test_late_take_over_of_a_failed_retry_is_fenced_off(store: Store) -> None:
    faulty = Faulty(store)
    m = LockManager(faulty, Limits())  # type: ignore[arg-type]
    holder, spec, first = await _held_and_queued(m, "conv_10", "r10")
    faulty.lose_next_takeover = True
    with pytest.raises(Unavailable):
        await m.acquire(spec, 10)  # the retry: its take-over is lost, it lands later
    assert faulty.late_takeover is not None
    assert await asyncio.wait_for(faulty.late_takeover, 10) is None  # fenced: not applied
    await m.release(holder.lease_token, 5)
    assert isinstance(await asyncio.wait_for(first, 30), Grant)  # the first attempt goes on


async def test_a_retry_whose_slot_vanishes_under_it_queues_anew(store: Store) -> None:
    """The retry finds the slot of its first attempt (EXISTS), but before it can take it over
    that attempt ends and gives the slot up: the retry queues anew instead of failing."""
    faulty = Faulty(store)
    m = LockManager(faulty, Limits())  # type: ignore[arg-type]
    holder, spec, first = await _held_and_queued(m, "conv_v", "rv")
    faulty.takeovers_open.clear()  # the retry's take-over waits; the slot goes meanwhile
    retry = asyncio.create_task(m.acquire(spec, 40))
    await asyncio.wait_for(faulty.holding.wait(), 10)  # it read the slot (EXISTS): held back
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await eventually(lambda: _slot_gone(m, "conv_v"))  # the first attempt gave its slot up
    faulty.takeovers_open.set()
    await eventually(functools.partial(_queued, m, "conv_v"))  # the retry queued again
    await m.release(holder.lease_token, 5)
    granted = await asyncio.wait_for(retry, 20)
    assert isinstance(granted, Grant) and granted.fencing_token > holder.fencing_token
    assert await _holder_revision(store, "conv_v") == granted.fencing_token


async def _slot_gone(m: LockManager, key: str) -> bool:
    return not await _queued(m, key)


@pytest.mark.etcd
async def test_a_failing_watch_check_wakes_the_waiter(etcd: EtcdServer, key_prefix: str) -> None:
    """The check that a watch's key still exists fails with an unexpected error: the waiter
    must be woken to re-read (else a deletion before the watch began is lost until `wait`)."""
    store = await EtcdStore.connect([etcd.endpoint], key_prefix, None, 5.0)
    real_call = store.client.call

    async def failing_check(pick: Any, request: Any, deadline: float, what: str) -> Any:
        if what == "watch check":
            raise LockError("injected: INTERNAL from etcd")
        return await real_call(pick, request, deadline, what)

    store.client.call = failing_check  # type: ignore[method-assign]
    try:
        deadline = asyncio.get_running_loop().time() + 60
        lease = await store.grant(30, deadline)
        r = await store.enqueue("conv_c", "u1", state_pb2.Entry(owner="u1", attempt="u1"),
                                lease, True, deadline)
        assert r.contender is not None
        await asyncio.wait_for(store.wait_gone([r.contender], time.monotonic() + 60), 10)
    finally:
        await store.close()


async def test_an_attempt_taken_over_by_a_retry_answers_aborted(store: Store) -> None:
    """lock.proto: "A retry takes the request over: an older attempt of it still in flight
    answers ABORTED" - also when the older one's wait runs out while someone still holds."""
    m = LockManager(store, Limits())
    holder = await m.acquire(AcquireSpec("conv_t", "h", ttl=30, wait=0), 5)
    assert isinstance(holder, Grant)
    spec = AcquireSpec("conv_t", "w1", ttl=30, wait=1.5, request_id="rt")
    older = asyncio.create_task(m.acquire(spec, 10))
    await eventually(functools.partial(_queued, m, "conv_t"))
    newer = asyncio.create_task(m.acquire(dataclasses.replace(spec, wait=30), 40))
    with pytest.raises(Aborted):
        await asyncio.wait_for(older, 20)
    assert not newer.done()
    await m.release(holder.lease_token, 5)
    granted = await asyncio.wait_for(newer, 20)
    assert isinstance(granted, Grant)
    assert await _holder_revision(store, "conv_t") == granted.fencing_token
