"""Group commit (threadlock.etcd.batch) on a real etcd: concurrent lock Txns share one etcd Txn
of nested sub-transactions, and each call still answers as if sent alone. Each etcd rule the
batcher keeps has a test here: batch size per level, one call per lock key per batch (so two
contenders of one lock never share a revision), a put on a gone lease splits the batch, and a
lost answer fails every call in it with Unavailable within the deadline."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from etcd_server import ETCD_RELEASES, EtcdServer

from threadlock.errors import Unavailable
from threadlock.etcd.batch import TxnBatcher
from threadlock.etcd.store import EtcdStore
from threadlock.internal import state_pb2
from threadlock.store import LeaseGone, Outcome

pytestmark = [pytest.mark.asyncio,
              pytest.mark.parametrize("etcd_release", ETCD_RELEASES, indirect=True)]


@pytest_asyncio.fixture
async def store(shared_etcd: EtcdServer, key_prefix: str) -> AsyncIterator[EtcdStore]:
    s = await EtcdStore.connect([shared_etcd.endpoint], key_prefix, None, 5.0)
    yield s
    await s.close()


def _state(pid: int) -> str:
    """The process state letter from /proc (T: stopped)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[1][0]


def _entry(owner: str) -> state_pb2.Entry:
    return state_pb2.Entry(owner=owner, ttl_seconds=30, queued_at_us=1, attempt="a-" + owner)


async def _enqueue(s: EtcdStore, key: str, uid: str, lease: int, queue: bool = True):  # type: ignore[no-untyped-def]
    return await s.enqueue(key, uid, _entry(uid), lease, queue, time.monotonic() + 10)


async def test_concurrent_calls_on_distinct_keys_share_batches(store: EtcdStore) -> None:
    lease = await store.grant(30, time.monotonic() + 5)
    got = await asyncio.gather(*(_enqueue(store, f"k{i}", f"u{i}", lease) for i in range(40)))
    assert all(r.outcome is Outcome.GRANTED for r in got)
    assert store.batcher.calls >= 2, "no call went through a batch of more than one"
    assert store.batcher.batches < 40
    # Each grant is really stored, with the revision it was told (the batch's).
    for i, r in enumerate(got):
        c = await store.get(f"k{i}", f"u{i}", time.monotonic() + 5)
        assert c is not None and r.contender is not None
        assert (c.revision, c.mod_revision) == (r.contender.revision, r.contender.mod_revision)
    # Releases batch too, each with its own answer.
    removed = await asyncio.gather(*(
        store.remove(f"k{i}", f"u{i}", r.contender.revision, lease, 0, time.monotonic() + 10)
        for i, r in enumerate(got) if r.contender is not None))
    assert all(str(rm[0].value) == "removed" for rm in removed)
    assert (await store.head("k0", time.monotonic() + 5))[0] is None


async def test_batches_respect_the_size_limit(store: EtcdStore) -> None:
    store.batcher = TxnBatcher(store.client, max_subs=4, max_in_flight=1)
    lease = await store.grant(30, time.monotonic() + 5)
    got = await asyncio.gather(*(_enqueue(store, f"s{i}", f"u{i}", lease) for i in range(20)))
    assert all(r.outcome is Outcome.GRANTED for r in got)
    assert store.batcher.batches >= 5  # 20 calls, at most 4 per batch


async def test_batches_respect_the_byte_limit(store: EtcdStore) -> None:
    """Under --max-request-bytes: a call bigger than what is left starts the next batch."""
    store.batcher = TxnBatcher(store.client, max_bytes=1)
    lease = await store.grant(30, time.monotonic() + 5)
    got = await asyncio.gather(*(_enqueue(store, f"b{i}", f"u{i}", lease) for i in range(10)))
    assert all(r.outcome is Outcome.GRANTED for r in got)
    assert (store.batcher.batches, store.batcher.calls) == (10, 0)  # each call alone


async def test_contenders_of_one_lock_never_share_a_batch(store: EtcdStore) -> None:
    """Same lock key: separate batches, so distinct revisions (fencing tokens), one holder,
    the others queued in order; calls on other keys still batch alongside."""
    lease = await store.grant(30, time.monotonic() + 5)
    same = [_enqueue(store, "one", f"c{i}", lease) for i in range(12)]
    others = [_enqueue(store, f"o{i}", f"d{i}", lease) for i in range(12)]
    got = await asyncio.gather(*same, *others)
    mine = got[:12]
    revisions = [r.contender.revision for r in mine if r.contender is not None]
    assert len(set(revisions)) == 12
    assert sum(r.outcome is Outcome.GRANTED for r in mine) == 1
    holder = min(mine, key=lambda r: r.contender.revision if r.contender else 0)
    assert holder.outcome is Outcome.GRANTED
    assert store.batcher.calls >= 2


async def test_a_gone_lease_fails_only_its_own_call(store: EtcdStore) -> None:
    """One put on a revoked lease would fail the whole etcd Txn: the batch is split until the
    culprit answers alone with LeaseGone; the others are granted."""
    deadline = time.monotonic() + 5
    good = await store.grant(30, deadline)
    gone = await store.grant(30, deadline)
    await store.revoke(gone, deadline)
    calls = [_enqueue(store, f"g{i}", f"u{i}", gone if i == 7 else good) for i in range(16)]
    got = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(got[7], LeaseGone)
    for i, r in enumerate(got):
        if i != 7:
            assert not isinstance(r, BaseException), r
            assert r.outcome is Outcome.GRANTED
    assert await store.get("g7", "u7", time.monotonic() + 5) is None


async def test_a_caller_that_leaves_early_is_dropped(store: EtcdStore) -> None:
    lease = await store.grant(30, time.monotonic() + 5)
    store.batcher = TxnBatcher(store.client, max_in_flight=1)
    first = asyncio.ensure_future(_enqueue(store, "x0", "u0", lease))
    await asyncio.sleep(0)  # the first batch holds x0 ...
    second = asyncio.ensure_future(_enqueue(store, "x1", "u1", lease))
    await asyncio.sleep(0)
    second.cancel()  # ... and x1 waits for the next one, then leaves
    assert (await first).outcome is Outcome.GRANTED
    with pytest.raises(asyncio.CancelledError):
        await second
    await asyncio.sleep(0.2)
    assert await store.get("x1", "u1", time.monotonic() + 5) is None


async def test_unavailable_within_the_deadline(fresh_etcd: EtcdServer, key_prefix: str) -> None:
    """etcd frozen (SIGSTOP): every call of a batch fails with Unavailable by its deadline."""
    server = fresh_etcd
    s = await EtcdStore.connect([server.endpoint], key_prefix, None, 5.0)
    try:
        lease = await s.grant(30, time.monotonic() + 5)
        assert server.pid is not None
        os.kill(server.pid, signal.SIGSTOP)
        try:
            for _ in range(100):  # the signal is asynchronous: wait until it is stopped
                if _state(server.pid) == "T":
                    break
                await asyncio.sleep(0.01)
            start = time.monotonic()
            got = await asyncio.gather(*(
                s.enqueue(f"u{i}", "x", _entry("x"), lease, True, start + 1.0)
                for i in range(10)), return_exceptions=True)
            assert all(isinstance(r, Unavailable) for r in got), got
            assert time.monotonic() - start < 3.0
        finally:
            os.kill(server.pid, signal.SIGCONT)
        # Back: batches flow again.
        got = await asyncio.gather(*(_enqueue(s, f"v{i}", "y", lease) for i in range(10)))
        assert all(r.outcome is Outcome.GRANTED for r in got)
    finally:
        await s.close()


async def test_a_caller_cancelled_as_its_answer_arrives_is_cancelled(store: EtcdStore) -> None:
    """The caller is cancelled in the loop turn its answer is set: the cancellation reaches
    it (the write applied, as for a lost answer: the acquire path cleans up). Python 3.11's
    wait_for returned the answer instead, and an Acquire cancelled then carried on and
    delivered a grant nobody received (CPython gh-86296; threadlock.timeouts)."""
    lease = await store.grant(30, time.monotonic() + 5)
    callers: list[asyncio.Task[object]] = []

    class CancelOnAnswer(TxnBatcher):
        async def _commit(self, batch: list[Any]) -> None:
            await super()._commit(batch)
            for caller in callers:  # the answers are set; their callers have not run yet
                caller.cancel()

    store.batcher = CancelOnAnswer(store.client)
    call = asyncio.create_task(_enqueue(store, "met", "u-met", lease))
    callers.append(call)
    with pytest.raises(asyncio.CancelledError):
        await call
    assert await store.get("met", "u-met", time.monotonic() + 5) is not None  # it applied


async def test_a_caller_that_leaves_after_its_batch_was_sent(store: EtcdStore) -> None:
    """Once sent, a batch is not taken back: the call applies even though its caller left
    (as a single request whose answer was lost), and a retry of the same uid finds it."""
    lease = await store.grant(30, time.monotonic() + 5)
    store.batcher = TxnBatcher(store.client, max_in_flight=1)
    call = asyncio.ensure_future(_enqueue(store, "late", "u-late", lease))
    for _ in range(1000):  # until sent (the batch task has started its etcd call)
        if store.batcher.batches:
            break
        await asyncio.sleep(0)
    assert store.batcher.batches == 1
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    for _ in range(500):  # the batch itself still completes
        if not store.batcher._in_flight:
            break
        await asyncio.sleep(0.01)
    found = await store.get("late", "u-late", time.monotonic() + 5)
    assert found is not None
    again = await _enqueue(store, "late", "u-late", lease)
    assert again.outcome is Outcome.EXISTS
    assert again.contender is not None and again.contender.revision == found.revision
