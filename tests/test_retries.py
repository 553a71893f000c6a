"""Retries and cleanups that race, driven at the LockManager level against both stores (a
real etcd, and the embedded store): an attempt may only delete what it wrote or read itself,
never a grant another attempt of the same request_id made meanwhile."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from etcd_server import EtcdServer
from harness import eventually

from threadlock.errors import LockError
from threadlock.etcd.store import EtcdStore
from threadlock.locks import LockManager
from threadlock.memory import MemoryStore
from threadlock.model import AcquireSpec, Grant, Limits
from threadlock.store import Contender, Store

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture(params=["memory", "etcd"])
async def store(request: pytest.FixtureRequest, key_prefix: str) -> AsyncIterator[Store]:
    s: Store
    if request.param == "memory":
        s = MemoryStore()
    else:
        etcd: EtcdServer = request.getfixturevalue("etcd")
        s = await EtcdStore.connect([etcd.endpoint], key_prefix, None, 5.0)
    yield s
    await s.close()


class Slow:
    """The real store, with chosen calls delayed: a cancelled attempt's cleanup (discard) or
    renewal is then still in flight while a retry of the same request goes on."""

    def __init__(self, inner: Store, discard_delay: float = 0.0,
                 renew_delay: float = 0.0) -> None:
        self.inner = inner
        self.discard_delay, self.renew_delay = discard_delay, renew_delay
        self.discards: list[bool] = []
        self.renewing = asyncio.Event()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    async def discard(self, c: Contender, deadline: float) -> bool:
        await asyncio.sleep(self.discard_delay)
        deleted = await self.inner.discard(c, deadline)
        self.discards.append(deleted)
        return deleted

    async def renew(self, lease: int, deadline: float) -> int:
        self.renewing.set()
        await asyncio.sleep(self.renew_delay)
        return await self.inner.renew(lease, deadline)


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
    slow = Slow(store, discard_delay=0.3)
    m = LockManager(slow, Limits())  # type: ignore[arg-type]
    holder = await m.acquire(AcquireSpec("conv_2", "h", ttl=30, wait=0), 5)
    assert isinstance(holder, Grant)
    spec = AcquireSpec("conv_2", "w1", ttl=30, wait=30, request_id="r2")
    first = asyncio.create_task(m.acquire(spec, 40))
    await eventually(functools.partial(_queued, m, "conv_2"))
    first.cancel()  # its cleanup starts, slowly
    await m.release(holder.lease_token, 5)
    retry = await m.acquire(spec, 40)  # resumes the slot, nobody ahead: granted
    assert isinstance(retry, Grant)
    with pytest.raises(asyncio.CancelledError):
        await first
    await eventually(lambda: _done(slow))
    assert slow.discards == [False]  # the stale cleanup saw the grant and kept its hands off
    assert await _holder_revision(store, "conv_2") == retry.fencing_token
    await m.keepalive_lease(retry.lease_token, 5)


async def _queued(m: LockManager, key: str) -> bool:
    states, _ = await m.status(key, None, 0, "", 5)
    return bool(states and states[0].waiters)


async def _done(slow: Slow) -> bool:
    return bool(slow.discards)


async def test_try_once_retry_does_not_take_the_slot_away(store: Store) -> None:
    m = LockManager(store, Limits())
    holder = await m.acquire(AcquireSpec("conv_3", "h", ttl=30, wait=0), 5)
    assert isinstance(holder, Grant)
    spec = AcquireSpec("conv_3", "w1", ttl=30, wait=30, request_id="r3")
    first = asyncio.create_task(m.acquire(spec, 40))
    await eventually(functools.partial(_queued, m, "conv_3"))
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
    the client retries at once and gets the lock; the first attempt's cleanup lands late."""
    slow = Slow(store, discard_delay=1.0, renew_delay=1.0)
    m = LockManager(slow, Limits())  # type: ignore[arg-type]
    holder = await m.acquire(AcquireSpec("conv_5", "h", ttl=30, wait=0), 5)
    assert isinstance(holder, Grant)
    spec = AcquireSpec("conv_5", "w1", ttl=30, wait=30, request_id="r5")
    first = asyncio.create_task(m.acquire(spec, 40))
    await eventually(functools.partial(_queued, m, "conv_5"))
    slow.renewing.clear()
    await m.release(holder.lease_token, 5)
    await asyncio.wait_for(slow.renewing.wait(), 10)  # granted, now renewing: cancel it
    first.cancel()
    slow.renew_delay = 0.0
    retry = await m.acquire(spec, 40)
    assert isinstance(retry, Grant)
    await eventually(lambda: _done(slow))
    assert slow.discards == [False]
    assert await _holder_revision(store, "conv_5") == retry.fencing_token
    await m.keepalive_lease(retry.lease_token, 5)


async def test_failed_peek_never_deletes_a_delivered_lock(store: Store) -> None:
    slow = Slow(store, renew_delay=0.0)
    m = LockManager(slow, Limits())  # type: ignore[arg-type]
    spec = AcquireSpec("conv_6", "w1", ttl=30, wait=30, request_id="r6")
    delivered = await m.acquire(spec, 5)
    assert isinstance(delivered, Grant)
    slow.renew_delay = 5.0
    slow.renewing.clear()
    peek = asyncio.create_task(m.acquire(AcquireSpec("conv_6", "w1", ttl=30, wait=0,
                                                     request_id="r6"), 10))
    await asyncio.wait_for(slow.renewing.wait(), 10)
    peek.cancel()
    with pytest.raises(asyncio.CancelledError):
        await peek
    await m.close()  # lets any cleanup finish
    assert slow.discards == []
    assert await _holder_revision(store, "conv_6") == delivered.fencing_token
