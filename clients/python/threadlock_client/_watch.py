"""Watch, I/O-free: the events a client sees, and the resume policy (which cursor to send, on
which address, after how long, and which failures end the watch). `client.py` (threads) and
`aio.py` (asyncio) drive it over their streams.

Resume: every event carries a cursor; after UNAVAILABLE (the replica died, or is shutting
down) or `watch_buffer` (the server cut off a watcher that fell behind) the driver reopens the
stream with the last cursor on the next address, so nothing is missed and nothing repeated.
Consecutive failures back off (0.1 s doubling to 2 s) and end the watch with Unavailable after
`retry_for` seconds without a single event. Any other failure ends it at once, as its error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import grpc

from threadlock_client import errors
from threadlock_client._proto import lock_pb2 as pb
from threadlock_client._protocol import Targets, now, timestamp

KINDS = {
    pb.WatchEvent.KIND_GRANTED: "granted",
    pb.WatchEvent.KIND_RELEASED: "released",
    pb.WatchEvent.KIND_EXPIRED: "expired",
    pb.WatchEvent.KIND_QUEUED: "queued",
    pb.WatchEvent.KIND_LEFT_QUEUE: "left_queue",
    pb.WatchEvent.KIND_METADATA_CHANGED: "metadata_changed",
    pb.WatchEvent.KIND_SNAPSHOT_END: "snapshot_end",
    pb.WatchEvent.KIND_CURSOR_TOO_OLD: "cursor_too_old",
}


@dataclass(frozen=True)
class WatchEvent:
    """One lock event (see WatchEvent in lock.proto). `kind` is one of: granted, released,
    expired, queued, left_queue, metadata_changed, snapshot_end (the snapshot is complete),
    cursor_too_old (the cursor could not be resumed: a fresh snapshot follows)."""

    kind: str
    key: str
    owner: str
    fencing_token: int
    metadata: Mapping[str, str]
    time: dt.datetime | None
    cursor: str
    revision: int
    snapshot: bool
    ttl_seconds: int
    queued_at: dt.datetime | None
    acquired_at: dt.datetime | None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready (times as ISO 8601)."""
        def iso(t: dt.datetime | None) -> str | None:
            return t.isoformat() if t is not None else None
        return {"kind": self.kind, "key": self.key, "owner": self.owner,
                "fencing_token": self.fencing_token, "metadata": dict(self.metadata),
                "time": iso(self.time), "cursor": self.cursor, "revision": self.revision,
                "snapshot": self.snapshot, "ttl_seconds": self.ttl_seconds,
                "queued_at": iso(self.queued_at), "acquired_at": iso(self.acquired_at)}


def event_of(m: pb.WatchEvent) -> WatchEvent:
    return WatchEvent(kind=KINDS.get(m.kind, "unknown"), key=m.key, owner=m.owner,
                      fencing_token=m.fencing_token, metadata=dict(m.metadata),
                      time=timestamp(m.time), cursor=m.cursor, revision=m.revision,
                      snapshot=m.snapshot, ttl_seconds=m.ttl_seconds,
                      queued_at=timestamp(m.queued_at), acquired_at=timestamp(m.acquired_at))


def _resumable(code: grpc.StatusCode, details: str) -> bool:
    return code == grpc.StatusCode.UNAVAILABLE or (
        code == grpc.StatusCode.RESOURCE_EXHAUSTED and details.startswith("watch_buffer:"))


@dataclass
class WatchPolicy:
    targets: Targets
    key: str | None = None
    prefix: str = ""
    cursor: str = ""  # of the last event received: where a reconnect resumes
    retry_for: float = 60.0
    failures: int = 0
    _failing_since: float | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.key is not None and self.prefix:
            raise errors.InvalidArgument(grpc.StatusCode.INVALID_ARGUMENT,
                                         "key, prefix: give one or the other")
        if self.key == "":
            raise errors.InvalidArgument(grpc.StatusCode.INVALID_ARGUMENT,
                                         "key: must not be empty")

    def request(self) -> pb.WatchRequest:
        req = pb.WatchRequest(cursor=self.cursor)
        if self.key is not None:
            req.key = self.key
        else:
            req.prefix = self.prefix
        return req

    def received(self, m: pb.WatchEvent) -> WatchEvent:
        self.failures, self._failing_since = 0, None
        if m.cursor:
            self.cursor = m.cursor
        return event_of(m)

    def failed(self, code: grpc.StatusCode, details: str) -> float:
        """Seconds to wait before reopening the stream (on the next address), or raises the
        error that ends the watch."""
        if not _resumable(code, details):
            raise errors.from_rpc(code, details)
        if self._failing_since is None:
            self._failing_since = now()
        elif now() - self._failing_since > self.retry_for:
            raise errors.Unavailable(grpc.StatusCode.UNAVAILABLE, f"Watch: no coordinator "
                                     f"served the stream for {self.retry_for:g}s ({details})")
        self.failures += 1
        self.targets.rotate()
        if self.failures % self.targets.count:
            return 0.0  # try the next address at once
        return min(0.1 * 2.0 ** (self.failures // self.targets.count - 1), 2.0)
