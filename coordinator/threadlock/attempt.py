"""What one Acquire attempt wrote, and so what it may clean up (`Leaver`): an attempt only
ever deletes a contender whose entry names it, and never a grant another attempt made (which
may have been handed out). Cleanups run as tasks of their own (threadlock.cleanups), so they
finish even when the call that needs them was cancelled."""

from __future__ import annotations

from dataclasses import dataclass

from threadlock import tokens
from threadlock.cleanups import Cleanups, fresh_deadline
from threadlock.model import AcquireSpec
from threadlock.store import Store

FENCE_TTL = 60  # a lost enqueue lands within etcd's request timeout, if at all


@dataclass
class Attempt:
    """One Acquire call: what it wrote, and so what it may clean up."""

    spec: AcquireSpec
    uid: str
    id: str  # written into every entry this attempt writes
    session: tokens.SessionRef | None
    lease: int = 0  # a lease this attempt granted (the lock's own, or a session waiter's)
    granted_us: int = 0  # acquired_at of a grant this attempt made itself
    lost_write: bool = False  # a write whose answer was lost: it may still land


class Leaver:
    def __init__(self, store: Store, cleanups: Cleanups) -> None:
        self.store = store
        self.cleanups = cleanups

    async def give_back(self, a: Attempt, deadline: float) -> None:
        # Retried too for a lock's own lease: its TTL may be an hour.
        await self.cleanups.run(lambda: self.leave(a), deadline, retry=True)

    def revoke_soon(self, lease: int) -> None:
        """Revoke `lease` in the background: nothing depends on it any more."""
        self.cleanups.start(lambda: self.store.revoke(lease, fresh_deadline()), retry=False)

    async def revoke_later(self, lease: int, deadline: float) -> None:
        """Revoke `lease` as a cleanup step (it finishes even if the caller is cancelled)."""
        await self.cleanups.run(lambda: self.store.revoke(lease, fresh_deadline()), deadline,
                                retry=False)

    async def leave(self, a: Attempt) -> bool:
        """Delete this attempt's contender if its entry still names this attempt and it is
        not a grant made by another attempt (which may have been handed out); then the lease
        the slot lived on. It reads first, so a write whose answer was lost counts too.
        True if a write of this attempt had landed."""
        if a.lost_write:  # fence first: then the lost write can no longer land behind our back
            lease = await self.store.grant(FENCE_TTL, fresh_deadline())
            await self.store.fence(a.id, lease, fresh_deadline())
        deadline = fresh_deadline()
        for _ in range(3):  # a write of this attempt still in flight may land in between
            found = await self.store.get(a.spec.key, a.uid, deadline)
            if found is None:
                # Nothing carries this attempt's lease (the uid is its request's). A slot lease
                # is revoked; a lock's own lease is left to its TTL: if a retry took the
                # contender over and released it, that Release may have recycled the lease
                # for another lock (etcd/leases.py), which a revoke here would end.
                if a.lease and a.session is not None:
                    await self.store.revoke(a.lease, deadline)
                return False
            e = found.entry
            if e.attempt != a.id:
                return False  # another attempt's: it took over, or it was there first
            if e.acquired_at_us not in (0, a.granted_us):
                return True  # a grant another attempt made, taken over: never ours to delete
            if await self.store.discard(found, deadline):
                if found.lease != e.session:  # the lock's own lease, or a slot lease
                    await self.store.revoke(found.lease, deadline)
                return True
        return True

    async def undo(self, a: Attempt) -> None:
        """After an enqueue whose outcome is unknown: make sure it can no longer land late,
        then delete what it wrote, if it landed (and nobody took it over since)."""
        a.lost_write = True
        await self.leave(a)
