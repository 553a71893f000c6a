"""Lease recycling (threadlock.etcd.leases) on a real etcd: a released lock's own lease serves
the next lock of the same TTL, renewed to a full TTL, and the old lock's token can neither
renew nor release through it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from etcd_server import ETCD_RELEASES, EtcdServer

from threadlock import tokens
from threadlock.errors import NotFound
from threadlock.etcd.store import EtcdStore
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


async def test_a_released_lease_serves_the_next_lock(manager: LockManager) -> None:
    store = manager.store
    assert isinstance(store, EtcdStore)
    first = await _grant(manager, "a", request_id="r1")
    lease = tokens.decode_lease(first.lease_token).lease
    assert await manager.release(first.lease_token, 5)
    second = await _grant(manager, "b", request_id="r2")
    assert tokens.decode_lease(second.lease_token).lease == lease
    assert store.pool.reused == 1
    # Renewed to a full TTL when taken.
    left, ttl = await store.time_to_live(lease, time.monotonic() + 5)
    assert ttl == 7 and left >= 5
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
