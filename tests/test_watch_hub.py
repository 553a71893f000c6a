"""The event hub under the embedded store, with small histories: a cursor older than the
hub's ring is caught up from the store's change feed; one older than the feed too is
CURSOR_TOO_OLD followed by a fresh snapshot; a cursor ahead of a lagging replica skips what
was delivered already (no duplicate)."""

from __future__ import annotations

import asyncio

import pytest

from threadlock.locks import LockManager
from threadlock.memory import MemoryStore
from threadlock.model import AcquireSpec, Limits
from threadlock.watch.events import Kind, LockEvent
from threadlock.watch.hub import EventHub


async def _take(gen: object, n: int) -> list[LockEvent]:
    out = []
    for _ in range(n):  # bounded: a missing event fails the test instead of hanging it
        out.append(await asyncio.wait_for(anext(gen), 20))  # type: ignore[call-overload]
    return out


@pytest.fixture
async def setup() -> tuple[MemoryStore, LockManager]:
    store = MemoryStore(feed_capacity=10)
    return store, LockManager(store, Limits())


async def test_catch_up_from_the_feed_then_too_old(
        setup: tuple[MemoryStore, LockManager]) -> None:
    store, m = setup
    hub = EventHub(store.feed, history=2)
    first = hub.subscribe("k")
    [end] = await _take(first, 1)
    assert end.kind is Kind.SNAPSHOT_END
    for i in range(3):  # 3 grants + 3 releases: 6 events, the ring keeps 2
        g = await m.acquire(AcquireSpec(f"k{i}", "o", 10, 0), 5)
        await m.release(g.lease_token, 5)  # type: ignore[union-attr]
    seen = await _take(first, 6)
    assert [e.kind for e in seen] == [Kind.GRANTED, Kind.RELEASED] * 3
    # From the first event's cursor: 5 events, 3 of them from the feed, 2 from the ring.
    resumed = await _take(hub.subscribe("k", cursor=seen[0].cursor), 5)
    assert [e.cursor for e in resumed] == [e.cursor for e in seen[1:]]
    # Enough changes to push the first one out of the feed (10 changes) too.
    for i in range(6):
        g = await m.acquire(AcquireSpec(f"x{i}", "o", 10, 0), 5)
        await m.release(g.lease_token, 5)  # type: ignore[union-attr]
    held = await m.acquire(AcquireSpec("k9", "o", 10, 0), 5)
    assert held is not None
    old = await _take(hub.subscribe("k", cursor=seen[0].cursor), 3)
    assert [(e.kind, e.key, e.snapshot) for e in old] == [
        (Kind.CURSOR_TOO_OLD, "", False), (Kind.GRANTED, "k9", True),
        (Kind.SNAPSHOT_END, "", False)]
    await hub.close()
    await store.close()


async def test_a_cursor_ahead_of_this_hub_skips_what_it_saw(
        setup: tuple[MemoryStore, LockManager]) -> None:
    store, m = setup
    hub = EventHub(store.feed)
    gen = hub.subscribe("")
    await _take(gen, 1)
    g = await m.acquire(AcquireSpec("a", "o", 10, 0), 5)
    [granted] = await _take(gen, 1)
    # A cursor ahead of this hub (from a replica further along: it delivered the release
    # already): that release is not repeated here; the next change is.
    release_at = granted.position.revision + 1
    ahead = hub.subscribe("", cursor=f"{hub.epoch}.{release_at}.0")
    await m.release(g.lease_token, 5)  # type: ignore[union-attr]
    await m.acquire(AcquireSpec("b", "o", 10, 0), 5)
    [nxt] = await _take(ahead, 1)
    assert (nxt.kind, nxt.key) == (Kind.GRANTED, "b")
    [rel, later] = await _take(gen, 2)
    assert rel.kind is Kind.RELEASED and rel.position.revision == release_at
    assert later.key == "b"
    await hub.close()
    await store.close()


async def test_a_cursor_inside_a_revision_resumes_with_the_rest_of_it(
        setup: tuple[MemoryStore, LockManager]) -> None:
    """A session's locks all end in one revision (one event each). A watcher that had the
    first of them resumes on a hub that started after that revision (its ring knows none of
    it): the rest of that revision still follows, from the store's history."""
    store, m = setup
    hub = EventHub(store.feed)
    gen = hub.subscribe("s")
    await _take(gen, 1)
    session = await m.open_session("o", 10, 5)
    for i in range(3):
        await m.acquire(AcquireSpec(f"s{i}", "o", 0, 0, session_id=session.session_id), 5)
    await _take(gen, 3)
    await m.close_session(session.session_id, 5)  # one revision, three EXPIRED events
    ended = await _take(gen, 3)
    assert {e.position.revision for e in ended} == {ended[0].position.revision}
    assert [e.kind for e in ended] == [Kind.EXPIRED] * 3
    late = EventHub(store.feed)  # started after that revision: its snapshot is past it
    rest = late.subscribe("s", cursor=ended[0].cursor)
    assert [e.cursor for e in await _take(rest, 2)] == [e.cursor for e in ended[1:]]
    await late.close()
    await hub.close()
    await store.close()
