"""Watch across replicas on real etcd: events written through one replica are seen by a
watcher on another; a watcher whose replica dies resumes on another from its cursor with no
gap and no duplicate; a cursor older than a replica's memory is caught up from etcd's history,
or, once etcd compacted it, answered with CURSOR_TOO_OLD and a fresh snapshot; and random lock
traffic on two replicas, rebuilt from the stream, equals Status."""

from __future__ import annotations

import asyncio
import random
import uuid

from etcd_server import EtcdServer
from harness import Coordinator, etcd_config, eventually
from watch_helpers import K, Watcher, from_status, rebuild, without_tokens

from threadlock.etcd.store import EtcdStore
from threadlock.v1 import lock_pb2 as pb
from threadlock.watch.etcd_source import etcd_compact


async def _replicas(etcd: EtcdServer, prefix: str, started: list[Coordinator],
                    n: int = 2) -> list[Coordinator]:
    out = [await Coordinator(etcd_config(etcd.endpoint, prefix)).start() for _ in range(n)]
    started.extend(out)
    return out


async def test_event_on_a_is_seen_on_b(etcd: EtcdServer, key_prefix: str,
                                       coordinators: list[Coordinator]) -> None:
    a, b = await _replicas(etcd, key_prefix, coordinators)
    key = f"conv_{uuid.uuid4().hex[:6]}"
    w = Watcher(b.stub, pb.WatchRequest(prefix="conv_")).start()
    await w.snapshot_done()
    lease = await a.lease(key, "on-a", ttl=10)
    await w.wait_kind(K.KIND_GRANTED, key)
    await a.release(lease.lease_token)
    await w.wait_kind(K.KIND_RELEASED, key)  # released (the tombstone), not expired
    await w.stop()
    assert w.kinds(key) == [K.KIND_GRANTED, K.KIND_RELEASED]


async def test_resume_on_another_replica_after_a_kill(
        etcd: EtcdServer, key_prefix: str, coordinators: list[Coordinator]) -> None:
    a, b = await _replicas(etcd, key_prefix, coordinators)
    # A reference watcher on b sees everything; the watcher under test starts on a.
    ref = Watcher(b.stub, pb.WatchRequest(prefix="k")).start()
    w = Watcher(a.stub, pb.WatchRequest(prefix="k")).start()
    await ref.snapshot_done()
    await w.snapshot_done()
    leases = [await b.lease(f"k{i}", "x", ttl=10) for i in range(3)]
    await w.wait_for(lambda w: len(w.changes()) == 3)
    await a.server.stop(0)  # the watcher's replica dies
    assert w.task is not None
    await asyncio.wait_for(w.task, 15)
    assert w.error is not None and w.error.code().name == "UNAVAILABLE"
    cursor = w.events[-1].cursor
    for lease in leases:  # meanwhile, on b
        await b.release(lease.lease_token)
    await b.lease("k9", "y", ttl=10)
    await ref.wait_for(lambda r: len(r.changes()) == 7)
    resumed = Watcher(b.stub, pb.WatchRequest(prefix="k", cursor=cursor)).start()
    await resumed.wait_for(lambda r: len(r.events) >= 4)
    await asyncio.sleep(0.3)  # nothing more may arrive
    await resumed.stop()
    await ref.stop()
    await w.stop()
    # Exactly what the reference saw after the cursor: no gap, no duplicate, no snapshot.
    expected = [(e.cursor, e.kind, e.key) for e in ref.changes()[3:]]
    assert [(e.cursor, e.kind, e.key) for e in resumed.events] == expected
    assert [k for _, k, _ in expected] == [K.KIND_RELEASED] * 3 + [K.KIND_GRANTED]


async def test_old_cursor_is_caught_up_from_etcd_then_too_old_after_compaction(
        etcd: EtcdServer, key_prefix: str, coordinators: list[Coordinator]) -> None:
    (a,) = await _replicas(etcd, key_prefix, coordinators, 1)
    w = Watcher(a.stub, pb.WatchRequest(prefix="c")).start()
    await w.snapshot_done()
    cursor = w.events[-1].cursor
    held = await a.lease("c1", "x", ttl=10)
    await a.release(held.lease_token)
    await a.lease("c2", "y", ttl=10)
    await w.wait_for(lambda w: len(w.changes()) == 3)
    await w.stop()
    # A replica started after those events has none of them in memory: it reads etcd's
    # history from the cursor's revision.
    (b,) = await _replicas(etcd, key_prefix, coordinators, 1)
    late = Watcher(b.stub, pb.WatchRequest(prefix="c", cursor=cursor)).start()
    await late.wait_for(lambda r: len(r.events) >= 3)
    await late.stop()
    assert [(e.cursor, e.kind) for e in late.events] == [
        (e.cursor, e.kind) for e in w.changes()]
    # Compact etcd past the cursor: another fresh replica must say so, then snapshot.
    store = await EtcdStore.connect([etcd.endpoint], key_prefix, None, 5.0)
    try:
        revision = w.changes()[-1].revision
        await etcd_compact(store, revision)
    finally:
        await store.close()
    (c,) = await _replicas(etcd, key_prefix, coordinators, 1)
    old = Watcher(c.stub, pb.WatchRequest(prefix="c", cursor=cursor)).start()
    await old.snapshot_done()
    await old.stop()
    assert [(e.kind, e.key, e.owner) for e in old.events] == [
        (K.KIND_CURSOR_TOO_OLD, "", ""), (K.KIND_GRANTED, "c2", "y"),
        (K.KIND_SNAPSHOT_END, "", "")]


async def test_random_traffic_on_two_replicas_rebuilds_status(
        etcd: EtcdServer, key_prefix: str, coordinators: list[Coordinator]) -> None:
    a, b = await _replicas(etcd, key_prefix, coordinators)
    rng = random.Random(1234)
    w = Watcher(b.stub, pb.WatchRequest(prefix="r")).start()
    await w.snapshot_done()
    held: dict[str, list[str]] = {}
    waiters: list[asyncio.Task[pb.AcquireResponse]] = []
    for i in range(60):  # bounded: 60 random operations
        c = rng.choice([a, b])
        key = f"r{rng.randrange(5)}"
        op = rng.random()
        if op < 0.45:
            resp = await c.acquire(key, f"o{i}", ttl=rng.choice([2, 30]))
            if resp.WhichOneof("result") == "lease":
                held.setdefault(key, []).append(resp.lease.lease_token)
        elif op < 0.6:
            waiters.append(asyncio.create_task(
                c.acquire(key, f"w{i}", ttl=30, wait=rng.choice([0.3, 30]))))
        elif held.get(key):
            await c.release(held[key].pop())
        if rng.random() < 0.3:
            await asyncio.sleep(rng.random() * 0.3)
    await asyncio.sleep(3)  # the 2 s TTLs lapse

    async def same() -> bool:
        locks = await a.status(prefix="r")
        got = rebuild(w.events)
        return (without_tokens(got) == without_tokens(from_status(locks))
                and {k: v[0][1:] for k, v in got.items()}
                == {s.key: (s.holder.fencing_token, True) for s in locks})

    await eventually(same, 20)
    seen = set(w.kinds())
    assert {K.KIND_GRANTED, K.KIND_RELEASED, K.KIND_EXPIRED, K.KIND_QUEUED} <= seen, seen
    for t in waiters:
        t.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    await w.stop()


async def test_watch_survives_an_etcd_restart(fresh_etcd: EtcdServer, key_prefix: str,
                                              coordinators: list[Coordinator]) -> None:
    """The replica's etcd watch breaks and is resumed from its last revision: events written
    while the watch was down (through another replica, once etcd is back) and after arrive,
    in order, on the same Watch stream."""
    a, b = await _replicas(fresh_etcd, key_prefix, coordinators)
    w = Watcher(a.stub, pb.WatchRequest(prefix="e")).start()
    await w.snapshot_done()
    first = await b.lease("e1", "x", ttl=30)
    await w.wait_kind(K.KIND_GRANTED, "e1")
    fresh_etcd.stop()
    await asyncio.sleep(1.0)
    fresh_etcd.restart()

    async def released() -> bool:
        try:
            return await b.release(first.lease_token)
        except Exception:
            return False  # etcd still coming back

    await eventually(released, 30)
    await b.lease("e2", "y", ttl=30)
    await w.wait_kind(K.KIND_GRANTED, "e2")
    await w.stop()
    assert [(e.kind, e.key) for e in w.changes()] == [
        (K.KIND_GRANTED, "e1"), (K.KIND_RELEASED, "e1"), (K.KIND_GRANTED, "e2")]


async def test_watch_with_etcd_down_from_the_start_is_unavailable(
        fresh_etcd: EtcdServer, key_prefix: str, coordinators: list[Coordinator]) -> None:
    (a,) = await _replicas(fresh_etcd, key_prefix, coordinators, 1)
    fresh_etcd.stop()
    w = Watcher(a.stub, pb.WatchRequest(prefix="")).start()
    assert w.task is not None
    await asyncio.wait_for(w.task, 30)
    assert w.error is not None and w.error.code().name == "UNAVAILABLE"
    assert "could not be read" in (w.error.details() or "")
    fresh_etcd.restart()  # and once etcd is back (and the channel reconnected), Watch serves

    async def serves() -> bool:
        again = Watcher(a.stub, pb.WatchRequest(prefix="")).start()
        try:
            await again.snapshot_done()  # raises if the stream ends (UNAVAILABLE) first
        except AssertionError:
            return False
        finally:
            await again.stop()
        return True

    await eventually(serves, 90)
