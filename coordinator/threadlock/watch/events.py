"""The event model of Watch, its cursors, and the one function that turns raw store changes
(puts and deletes of contender keys, puts of release tombstones) into lock events.

Derivation is stateless: each change carries the contender's previous value (etcd's prev_kv),
and the changes of one revision are derived together, so every replica derives the same
events with the same positions from the same etcd history. That is what makes a cursor from
replica A valid on replica B.

How an event is told from the store alone:
- put of a new contender: acquired_at set -> GRANTED, else QUEUED;
- put over an existing contender: acquired_at newly set -> GRANTED; metadata changed (a
  KeepAlive annotation) -> METADATA_CHANGED; anything else (a retry re-claiming its own
  contender) -> no event;
- delete of a granted contender: RELEASED when the same revision wrote a release tombstone for
  its uid (Release always deletes and writes the tombstone in one transaction), else EXPIRED
  (its lease ended: TTL lapse, its session closed or lapsed, or its Acquire was abandoned);
- delete of a contender that was not granted: LEFT_QUEUE (cancelled, timed out, its client
  went away, or its lease lapsed while it waited).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from threadlock.errors import InvalidArgument
from threadlock.store import Contender

SNAPSHOT_INDEX = 1 << 30  # a snapshot at revision R covers every event of R


class Kind(enum.Enum):
    GRANTED = "granted"
    RELEASED = "released"
    EXPIRED = "expired"
    QUEUED = "queued"
    LEFT_QUEUE = "left_queue"
    METADATA_CHANGED = "metadata_changed"
    SNAPSHOT_END = "snapshot_end"  # the snapshot's events are complete; changes follow
    CURSOR_TOO_OLD = "cursor_too_old"  # the cursor cannot be resumed; a fresh snapshot follows


@dataclass(frozen=True)
class Position:
    """Where an event sits in the store's history: its revision, and its index among the
    events of that revision. Cursors encode a position; ordering is tuple ordering."""

    revision: int
    index: int

    def key(self) -> tuple[int, int]:
        return self.revision, self.index


@dataclass(frozen=True)
class LockEvent:
    kind: Kind
    key: str = ""
    owner: str = ""
    fencing_token: int = 0  # the contender's create revision
    metadata: Mapping[str, str] = field(default_factory=dict)
    time: float = 0.0  # unix seconds: when granted / queued; else when this replica saw it
    ttl_seconds: int = 0
    queued_at: float = 0.0
    acquired_at: float = 0.0
    position: Position = Position(0, 0)
    cursor: str = ""  # resume after this event with this cursor
    snapshot: bool = False  # part of a snapshot (GRANTED / QUEUED only)


@dataclass(frozen=True)
class Put:
    revision: int
    contender: Contender
    prev: Contender | None


@dataclass(frozen=True)
class Delete:
    revision: int
    prev: Contender


@dataclass(frozen=True)
class Tombstone:
    revision: int
    uid: str


Change = Put | Delete | Tombstone


def encode_cursor(epoch: str, pos: Position) -> str:
    return f"{epoch}.{pos.revision}.{pos.index}"


def decode_cursor(cursor: str) -> tuple[str, Position]:
    """(epoch, position) of a cursor; INVALID_ARGUMENT naming `cursor` if malformed."""
    parts = cursor.split(".")
    try:
        epoch, rev, idx = parts
        pos = Position(int(rev), int(idx))
    except ValueError:
        raise InvalidArgument("cursor", "must be a cursor from a WatchEvent, "
                                        f"got {cursor[:64]!r}") from None
    if not epoch or pos.revision < 0 or pos.index < 0:
        raise InvalidArgument("cursor", f"must be a cursor from a WatchEvent, got {cursor[:64]!r}")
    return epoch, pos


def _granted(c: Contender) -> bool:
    return c.entry.acquired_at_us != 0


def _event(kind: Kind, c: Contender, pos: Position, epoch: str, when: float,
           snapshot: bool = False) -> LockEvent:
    e = c.entry
    return LockEvent(kind=kind, key=c.key, owner=e.owner, fencing_token=c.revision,
                     metadata=dict(e.metadata), time=when, ttl_seconds=int(e.ttl_seconds),
                     queued_at=e.queued_at_us / 1e6, acquired_at=e.acquired_at_us / 1e6,
                     position=pos, cursor=encode_cursor(epoch, pos), snapshot=snapshot)


def derive(revision: int, changes: list[Change], epoch: str,
           now: float | None = None) -> list[LockEvent]:
    """The events of one revision, in change order, indexed 0.. before any filtering."""
    seen = time.time() if now is None else now
    tombs = {c.uid for c in changes if isinstance(c, Tombstone)}
    out: list[LockEvent] = []

    def emit(kind: Kind, c: Contender, when: float) -> None:
        out.append(_event(kind, c, Position(revision, len(out)), epoch, when))

    for ch in changes:
        if isinstance(ch, Put):
            c, prev = ch.contender, ch.prev
            if prev is None:
                if _granted(c):
                    emit(Kind.GRANTED, c, c.entry.acquired_at_us / 1e6)
                else:
                    emit(Kind.QUEUED, c, c.entry.queued_at_us / 1e6)
            elif _granted(c) and not _granted(prev):
                emit(Kind.GRANTED, c, c.entry.acquired_at_us / 1e6)
            elif dict(c.entry.metadata) != dict(prev.entry.metadata):
                emit(Kind.METADATA_CHANGED, c, seen)
        elif isinstance(ch, Delete):
            if _granted(ch.prev):
                emit(Kind.RELEASED if ch.prev.uid in tombs else Kind.EXPIRED, ch.prev, seen)
            else:
                emit(Kind.LEFT_QUEUE, ch.prev, seen)
    return out


def snapshot_events(contenders: Iterable[Contender], revision: int,
                    epoch: str) -> list[LockEvent]:
    """A snapshot at `revision`: each contender as GRANTED or QUEUED (keys ascending, each key
    in queue order), then SNAPSHOT_END. All carry the snapshot's cursor."""
    pos = Position(revision, SNAPSHOT_INDEX)
    out = [_event(Kind.GRANTED if _granted(c) else Kind.QUEUED, c, pos, epoch,
                  (c.entry.acquired_at_us or c.entry.queued_at_us) / 1e6, snapshot=True)
           for c in sorted(contenders, key=lambda c: (c.key.encode(), c.revision))]
    out.append(LockEvent(Kind.SNAPSHOT_END, time=time.time(), position=pos,
                         cursor=encode_cursor(epoch, pos)))
    return out


def matches(e: LockEvent, prefix: str, exact: bool) -> bool:
    """Whether a lock event falls under a watch of `prefix` (`exact`: that key only)."""
    return e.key == prefix if exact else e.key.startswith(prefix)
