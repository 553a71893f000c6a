"""A session lock's grant answers `expires_at` from what this replica knows of the session
(threadlock.session_clock) instead of asking the store every time; what it says is never later
than the truth, and a session renewed elsewhere is asked about once its known time runs low."""

from __future__ import annotations

import time

from threadlock import tokens
from threadlock.locks import LockManager
from threadlock.model import AcquireSpec, Grant, Limits
from threadlock.session_clock import SessionClock
from threadlock.store import Store


class Counting:
    """The real store, counting the TimeToLive reads it is asked for."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.ttl_reads = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    async def time_to_live(self, lease: int, deadline: float) -> tuple[int, int]:
        self.ttl_reads += 1
        return await self.inner.time_to_live(lease, deadline)


async def test_session_grants_need_no_ttl_read(store: Store) -> None:
    counting = Counting(store)
    m = LockManager(counting, Limits())  # type: ignore[arg-type]
    session = await m.open_session("proc", 30, 5)
    for i in range(5):
        g = await m.acquire(AcquireSpec(f"conv_{i}", "w", ttl=0, wait=0,
                                        session_id=session.session_id), 5)
        assert isinstance(g, Grant) and g.ttl == 30
        assert g.expires_at <= session.expires_at + 0.01  # never later than the truth
        assert g.expires_at > time.time() + 25
        await m.release(g.lease_token, 5)
    assert counting.ttl_reads == 0
    held = await m.acquire(AcquireSpec("conv_s", "w", ttl=0, wait=0,
                                       session_id=session.session_id), 5)
    assert isinstance(held, Grant)
    (state,), _ = await m.status("conv_s", None, 0, "", 5)  # its expiry: known here too
    assert state.holder is not None and state.holder.fencing_token == held.fencing_token
    assert time.time() + 25 < state.holder.expires_at <= session.expires_at + 0.01
    assert counting.ttl_reads == 0
    await m.close()


async def test_a_session_renewed_elsewhere_is_asked_about(store: Store) -> None:
    """Replica A knows the session only from its opening; replica B renews it. Once A's
    knowledge runs low, A reads the store, and reports the later expiry B gave it."""
    counting = Counting(store)
    a = LockManager(counting, Limits())  # type: ignore[arg-type]
    b = LockManager(store, Limits())
    session = await a.open_session("proc", 30, 5)
    a._sessions.note(session_lease(a, session.session_id), time.monotonic() + 0.5, 30)
    expires_at, _ = await b.keepalive_session(session.session_id, 5)
    g = await a.acquire(AcquireSpec("conv_x", "w", ttl=0, wait=0,
                                    session_id=session.session_id), 5)
    assert isinstance(g, Grant)
    assert counting.ttl_reads == 1
    assert g.expires_at > time.time() + 25 and g.expires_at <= expires_at + 1.01
    await a.close()
    await b.close()


def session_lease(m: LockManager, session_id: str) -> int:
    return tokens.decode_session(session_id).lease


def test_the_clock_forgets_the_least_recently_renewed() -> None:
    clock = SessionClock(max_sessions=2)
    now = time.monotonic()
    clock.note(1, now + 30, 30)
    clock.note(2, now + 30, 30)
    clock.note(1, now + 40, 30)  # renewed: now the most recent
    clock.note(3, now + 30, 30)
    assert clock.left(2) is None and clock.left(1) is not None and clock.left(3) is not None
    clock.note(4, now + 0.5, 30)  # less than MIN_LEFT: ask the store
    assert clock.left(4) is None
