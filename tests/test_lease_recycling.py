"""Lease recycling (threadlock.etcd.leases) on a real etcd: a released lock's own lease serves
the next lock of the same TTL, renewed to a full TTL, and the old lock's token can neither
renew nor release through it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from etcd_server import ETCD_RELEASES, EtcdServer

from threadlock import tokens
from threadlock.attempt import Attempt
from threadlock.errors import NotFound
from threadlock.etcd.store import EtcdStore
from threadlock.internal.etcd import rpc_pb2
from threadlock.locks import LockManager
from threadlock.model import AcquireSpec, Grant, Limits

pytestmark = [pytest.mark.asyncio,
              pytest.mark.parametrize("etcd_release", ETCD_RELEASES, indirect=True)]


@pytest_asyncio.fixture
async def manager(shared_etcd: EtcdServer, key_prefix: str) -> AsyncIterator[LockManager]:
    store = await EtcdStore.connect([shared_etcd.endpoint], key_prefix, None, 5.0)
    m = LockManager(store, Limits())
    yield m
    await m.close()
    await store.close()


async def _grant(m: LockManager, key: str, ttl: float = 7, request_id: str = "") -> Grant:
    got = await m.acquire(AcquireSpec(key, "w", ttl=ttl, wait=0, request_id=request_id), 10)
    assert isinstance(got, Grant), got
    return got


async def _keys(store: EtcdStore, lease: int) -> list[bytes]:
    resp = await store.client.call(lambda s: s.lease.LeaseTimeToLive,
                                   rpc_pb2.LeaseTimeToLiveRequest(ID=lease, keys=True),
                                   time.monotonic() + 5, "lease keys")
    return list(resp.keys)


async def test_a_released_lease_serves_the_next_lock(manager: LockManager) -> None:
    store = manager.store
    assert isinstance(store, EtcdStore)
    first = await _grant(manager, "a", request_id="r1")
    lease = tokens.decode_lease(first.lease_token).lease
    await asyncio.sleep(2.2)  # let its TTL run down: taking it from the pool must renew it
    left, _ = await store.time_to_live(lease, time.monotonic() + 5)
    assert left <= 5
    assert await manager.release(first.lease_token, 5)
    assert await _keys(store, lease) == []  # keyless in the pool
    second = await _grant(manager, "b", request_id="r2")
    assert tokens.decode_lease(second.lease_token).lease == lease
    assert store.pool.reused == 1
    # Renewed to a full TTL when taken, and it carries the new lock's key only.
    left, ttl = await store.time_to_live(lease, time.monotonic() + 5)
    assert ttl == 7 and left >= 6
    second_ref = tokens.decode_lease(second.lease_token)
    assert await _keys(store, lease) == [store._ckey("b", second_ref.uid)]
    # The old token names no lock any more: no renewal, no release through the shared lease.
    with pytest.raises(NotFound):
        await manager.keepalive_lease(first.lease_token, 5)
    assert not await manager.release(first.lease_token, 5)  # already released
    states, _ = await manager.status("b", None, 0, "", 5)
    assert states[0].holder is not None
    assert states[0].holder.fencing_token == second.fencing_token
    # Another TTL does not take it.
    assert await manager.release(second.lease_token, 5)
    third = await _grant(manager, "c", ttl=9)
    assert tokens.decode_lease(third.lease_token).lease != lease


async def test_an_expired_pooled_lease_is_not_reused(manager: LockManager) -> None:
    store = manager.store
    assert isinstance(store, EtcdStore)
    first = await _grant(manager, "x", ttl=2)
    lease = tokens.decode_lease(first.lease_token).lease
    assert await manager.release(first.lease_token, 5)
    await store.revoke(lease, time.monotonic() + 5)  # as if it had expired in the pool
    second = await _grant(manager, "y", ttl=2)
    assert tokens.decode_lease(second.lease_token).lease != lease
    assert store.pool.reused == 0


async def test_a_stale_attempt_never_revokes_a_recycled_lease(manager: LockManager) -> None:
    """An earlier attempt of a retried request (its answer was lost) cleans up after the
    retry took its contender over and released it, and after that Release recycled the lease
    for another lock: the cleanup finds no contender of its own and must leave the lease alone
    (a revoke would end the other lock, whose holder still relies on it)."""
    store = manager.store
    assert isinstance(store, EtcdStore)
    spec = AcquireSpec("stale", "w", ttl=7, wait=0, request_id="r-stale")
    first = await _grant(manager, "stale", request_id="r-stale")
    ref = tokens.decode_lease(first.lease_token)
    earlier = Attempt(spec, ref.uid, "an-earlier-attempt", None, lease=ref.lease)
    assert await manager.release(first.lease_token, 5)
    other = await _grant(manager, "other")
    assert tokens.decode_lease(other.lease_token).lease == ref.lease  # recycled
    assert not await manager._acquirer.leaver.leave(earlier)
    left, _ = await store.time_to_live(ref.lease, time.monotonic() + 5)
    assert left > 0, "the recycled lease was revoked under another lock"
    states, _ = await manager.status("other", None, 0, "", 5)
    assert states[0].holder is not None
    assert states[0].holder.fencing_token == other.fencing_token


async def test_a_session_lock_never_pools_the_session_lease(manager: LockManager) -> None:
    """Only a lock's own lease is pooled: releasing a session's lock leaves the session lease
    to the session (alive, carrying its record), and the next lock gets a fresh lease."""
    store = manager.store
    assert isinstance(store, EtcdStore)
    session = await manager.open_session("w", 7, 5)
    got = await manager.acquire(AcquireSpec("sess", "w", ttl=0, wait=0,
                                            session_id=session.session_id), 10)
    assert isinstance(got, Grant)
    assert await manager.release(got.lease_token, 5)
    session_lease = tokens.decode_session(session.session_id).lease
    assert store.pool.size() == 0
    nxt = await _grant(manager, "after-session")
    assert tokens.decode_lease(nxt.lease_token).lease != session_lease
    assert store.pool.reused == 0
    left, _ = await store.time_to_live(session_lease, time.monotonic() + 5)
    assert left > 0


async def test_a_lately_renewed_lease_is_reused_without_a_keepalive(
        manager: LockManager) -> None:
    """A lease this replica granted a moment ago goes to the next lock as it is: no renewal
    is sent (no keepalive stream was ever opened), and the grant reports the lease's known
    expiry, counted from the first grant, not a fresh TTL."""
    store = manager.store
    assert isinstance(store, EtcdStore)
    first = await _grant(manager, "quick-1", ttl=10)
    lease = tokens.decode_lease(first.lease_token).lease
    assert await manager.release(first.lease_token, 5)
    second = await _grant(manager, "quick-2", ttl=10)
    assert tokens.decode_lease(second.lease_token).lease == lease
    assert (store.pool.reused, store.pool.unrenewed) == (1, 1)
    assert store.keeper._stream is None, "a renewal was sent for a lately granted lease"
    assert second.expires_mono <= first.expires_mono  # not a fresh TTL from now
    assert second.expires_mono - time.monotonic() >= 9 * 0.9 - 1  # but most of one
    # A KeepAlive through this replica counts as a renewal too.
    await manager.keepalive_lease(second.lease_token, 5)
    assert await manager.release(second.lease_token, 5)
    third = await _grant(manager, "quick-3", ttl=10)
    assert tokens.decode_lease(third.lease_token).lease == lease
    assert store.pool.unrenewed == 2
    assert third.expires_mono > second.expires_mono


async def test_an_unrenewed_grant_never_reports_more_than_the_lease_lives(
        manager: LockManager) -> None:
    """The expiry a grant reports for an unrenewed pooled lease is a lower bound: left
    alone, the lease (and the lock on it) is still there at that time."""
    store = manager.store
    assert isinstance(store, EtcdStore)
    # TTL 15: the 0.6 s pause leaves 0.9 s of the 1.5 s (TTL/10) window for a loaded machine
    first = await _grant(manager, "bound-1", ttl=15)
    lease = tokens.decode_lease(first.lease_token).lease
    assert await manager.release(first.lease_token, 5)
    await asyncio.sleep(0.6)  # < ttl/10: reused as it is
    second = await _grant(manager, "bound-2", ttl=15)
    assert tokens.decode_lease(second.lease_token).lease == lease
    assert store.pool.unrenewed == 1
    # A grant that reported a fresh TTL from now would outlive the lease by >= 0.6 s (etcd
    # notices expiries every 0.5 s).
    while time.monotonic() < second.expires_mono - 0.05:
        left, _ = await store.time_to_live(lease, time.monotonic() + 5)
        assert left >= 0, "the lease expired before the grant said it would"
        await asyncio.sleep(0.05)
    states, _ = await manager.status("bound-2", None, 0, "", 5)
    assert states and states[0].holder is not None  # the lock is still held at that time
    deadline = time.monotonic() + 30
    while (await store.time_to_live(lease, time.monotonic() + 5))[0] >= 0:
        assert time.monotonic() < deadline, "the unrenewed lease never expired"
        await asyncio.sleep(0.1)


async def test_a_lease_granted_long_ago_is_renewed_when_taken(manager: LockManager) -> None:
    """Past a tenth of its TTL since its last renewal here, a pooled lease is renewed as
    before, and the grant reports a full TTL from then."""
    store = manager.store
    assert isinstance(store, EtcdStore)
    first = await _grant(manager, "slow-1", ttl=3)
    assert await manager.release(first.lease_token, 5)
    await asyncio.sleep(0.5)  # > ttl/10
    asked = time.monotonic()
    second = await _grant(manager, "slow-2", ttl=3)
    assert (store.pool.reused, store.pool.unrenewed) == (1, 0)
    assert second.expires_mono >= asked + 3 - 0.01
