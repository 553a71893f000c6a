"""The status page's core (status_board.py) and its hub feed's state rule (status_feed.py),
without I/O: which changes reach which viewer, the charts' wait and hold times, bounded memory
(history per key, keys tracked, a slow viewer's queue), and how hub events become states."""

from __future__ import annotations

from threadlock.model import HolderInfo, LockState, WaiterInfo
from threadlock.status_board import VIEWER_QUEUE, Scope, StatusBoard
from threadlock.status_feed import EventTable, state_of
from threadlock.watch import Kind, LockEvent


def state(key: str, owner: str, token: int, acquired: float, expires: float = 0.0,
          waiters: tuple[tuple[str, float], ...] = ()) -> LockState:
    return LockState(key, HolderInfo(owner, token, acquired, expires, {}),
                     [WaiterInfo(o, i, q, {}) for i, (o, q) in enumerate(waiters, 1)])


def event(kind: Kind, owner: str, token: int, queued: float, acquired: float = 0.0,
          ttl: int = 30, snapshot: bool = False) -> LockEvent:
    return LockEvent(kind, key="k", owner=owner, fencing_token=token, queued_at=queued,
                     acquired_at=acquired, ttl_seconds=ttl, snapshot=snapshot)


def test_viewers_get_their_scope_and_filter_only_with_keys_as_they_name_them() -> None:
    board = StatusBoard()
    everyone = board.subscribe(Scope())
    team_a = board.subscribe(Scope("team-a/", "team-a/"))
    filtered = board.subscribe(Scope("team-a/", "team-a/"), "chat-")
    board.update("team-a/chat-1", state("team-a/chat-1", "w1", 5, 100.0))
    board.update("team-b/chat-1", state("team-b/chat-1", "w2", 6, 100.0))
    board.update("team-a/job-1", state("team-a/job-1", "w3", 7, 100.0))
    assert [everyone.changes.get_nowait()["key"] for _ in range(3)] == [
        "team-a/chat-1", "team-b/chat-1", "team-a/job-1"]
    assert [team_a.changes.get_nowait()["key"] for _ in range(2)] == ["chat-1", "job-1"]
    assert team_a.changes.empty()
    assert filtered.changes.get_nowait()["key"] == "chat-1" and filtered.changes.empty()
    assert [v["key"] for v in board.snapshot(team_a)] == ["chat-1", "job-1"]
    board.update("team-a/chat-1", None)
    gone = filtered.changes.get_nowait()
    assert gone["key"] == "chat-1" and gone["lock"] is None
    board.unsubscribe(filtered)
    board.update("team-a/chat-2", state("team-a/chat-2", "w", 8, 101.0))
    assert filtered.changes.empty()


def test_unchanged_states_and_expiry_jitter_send_nothing_but_a_renewal_does() -> None:
    board = StatusBoard()
    viewer = board.subscribe(Scope())
    board.update("k", state("k", "w", 5, 100.0, expires=130.0))
    viewer.changes.get_nowait()
    board.update("k", state("k", "w", 5, 100.0, expires=130.4))
    assert viewer.changes.empty()
    board.update("k", state("k", "w", 5, 100.0, expires=140.0))
    assert viewer.changes.get_nowait()["lock"]["expires_at"] == 140.0
    board.update("nothing", None)
    assert viewer.changes.empty()


def test_charts_record_wait_and_hold_times_from_hub_events() -> None:
    board, table = StatusBoard(), EventTable()
    table.apply(LockEvent(Kind.SNAPSHOT_END), board, now=100.0)
    table.apply(event(Kind.GRANTED, "w1", 5, 100.0, 100.0), board, now=100.0)  # a free key
    table.apply(event(Kind.QUEUED, "w2", 9, 101.0), board, now=101.0)
    table.apply(event(Kind.RELEASED, "w1", 5, 100.0, 100.0), board, now=104.0)  # held 4 s
    table.apply(event(Kind.GRANTED, "w2", 9, 101.0, 104.0), board, now=104.0)  # waited 3 s
    table.apply(event(Kind.METADATA_CHANGED, "w2", 9, 101.0, 104.0), board, now=105.0)
    table.apply(event(Kind.EXPIRED, "w2", 9, 101.0, 104.0), board, now=110.0)  # held 6 s
    table.apply(event(Kind.QUEUED, "w3", 12, 111.0), board, now=111.0)
    table.apply(event(Kind.LEFT_QUEUE, "w3", 12, 111.0), board, now=112.0)  # never held
    history = board.histories["k"]
    assert list(history.waits) == [0.0, 3.0]
    assert list(history.holds) == [4.0, 6.0]
    assert "k" not in board.states and table.table == {}


def test_a_snapshot_replaces_the_whole_picture() -> None:
    board, table = StatusBoard(), EventTable()
    viewer = board.subscribe(Scope())
    table.apply(event(Kind.GRANTED, "w1", 5, 100.0, 100.0, snapshot=True), board, now=100.0)
    assert board.states == {} and not board.synced  # nothing shown before SNAPSHOT_END
    table.apply(LockEvent(Kind.SNAPSHOT_END), board, now=100.0)
    assert board.states["k"].holder.owner == "w1" and board.synced
    assert viewer.changes.get_nowait()["lock"]["owner"] == "w1"
    # The hub reloaded (CURSOR_TOO_OLD): a fresh snapshot without "k" removes it.
    table.apply(LockEvent(Kind.CURSOR_TOO_OLD), board, now=101.0)
    table.apply(LockEvent(Kind.SNAPSHOT_END), board, now=101.0)
    assert board.states == {}
    assert viewer.changes.get_nowait()["lock"] is None


def test_memory_is_bounded_per_key_and_in_keys() -> None:
    board = StatusBoard(max_keys=3, history=4)
    for i in range(10):  # ten holds on one key: only the last 4 are kept
        board.record("k", hold=float(i))
    assert list(board.histories["k"].holds) == [6.0, 7.0, 8.0, 9.0]
    for key in ("a", "b", "c", "d"):
        board.record(key, wait=1.0)
        board.update(key, state(key, "w", 1, 0.0))
    assert list(board.histories) == ["b", "c", "d"]  # "k", then "a", dropped first
    assert set(board.states) == {"a", "b", "c", "d"}  # live states are never dropped


def test_a_slow_viewer_is_resynced_instead_of_buffering_without_bound() -> None:
    board = StatusBoard()
    slow = board.subscribe(Scope())
    for i in range(VIEWER_QUEUE + 5):
        board.update(f"k{i:05}", state(f"k{i:05}", "w", i + 1, 0.0))
    assert slow.resync.is_set()
    assert slow.changes.qsize() == VIEWER_QUEUE
    snapshot = board.snapshot(slow)  # the SSE loop then sends this instead
    assert len(snapshot) == VIEWER_QUEUE + 5
    assert not slow.resync.is_set() and slow.changes.empty()


def test_hub_events_become_a_holder_and_waiters_in_token_order() -> None:
    group = {12: event(Kind.QUEUED, "w3", 12, 103.0), 7: event(Kind.GRANTED, "w1", 7, 100.0,
                                                                 100.5),
             9: event(Kind.QUEUED, "w2", 9, 101.0)}
    s = state_of("k", group, {})
    assert s is not None
    assert (s.holder.owner, s.holder.fencing_token, s.holder.acquired_at) == ("w1", 7, 100.5)
    assert s.holder.expires_at == 130.5  # granted + TTL until a refresh knows better
    assert [(w.owner, w.position) for w in s.waiters] == [("w2", 1), ("w3", 2)]
    assert state_of("k", group, {("k", 7): 200.0}).holder.expires_at == 200.0  # type: ignore[union-attr]
    assert state_of("k", {}, {}) is None


def test_a_feed_error_reaches_every_viewer_at_once() -> None:
    board = StatusBoard()
    viewer = board.subscribe(Scope())
    board.set_error("etcd unavailable")
    assert viewer.resync.is_set() and not viewer.changes.empty()  # woken for a snapshot
    board.snapshot(viewer)
    board.set_error("etcd unavailable")  # the same error again: nothing new to tell
    assert not viewer.resync.is_set() and viewer.changes.empty()
    board.set_error("")  # working again: a fresh snapshot clears the banner
    assert viewer.resync.is_set() and board.feed_error == ""
