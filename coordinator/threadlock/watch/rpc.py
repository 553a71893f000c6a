"""The Watch RPC, transport-free: a WatchRequest in, WatchEvent messages out (an async
generator that raises LockError). LockRpcs.Watch and its auth-scoped override call this."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Callable

from google.protobuf import timestamp_pb2

from threadlock.model import check_text
from threadlock.v1 import lock_pb2 as pb
from threadlock.watch.events import Kind, LockEvent
from threadlock.watch.hub import EventHub

KINDS = {
    Kind.GRANTED: pb.WatchEvent.KIND_GRANTED,
    Kind.RELEASED: pb.WatchEvent.KIND_RELEASED,
    Kind.EXPIRED: pb.WatchEvent.KIND_EXPIRED,
    Kind.QUEUED: pb.WatchEvent.KIND_QUEUED,
    Kind.LEFT_QUEUE: pb.WatchEvent.KIND_LEFT_QUEUE,
    Kind.METADATA_CHANGED: pb.WatchEvent.KIND_METADATA_CHANGED,
    Kind.SNAPSHOT_END: pb.WatchEvent.KIND_SNAPSHOT_END,
    Kind.CURSOR_TOO_OLD: pb.WatchEvent.KIND_CURSOR_TOO_OLD,
}
MAX_CURSOR_BYTES = 128
MAX_PREFIX_BYTES = 512


def _ts(unix: float) -> timestamp_pb2.Timestamp | None:
    if unix <= 0:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(int(unix * 1e9))
    return ts


def event_pb(e: LockEvent, key: str) -> pb.WatchEvent:
    return pb.WatchEvent(kind=KINDS[e.kind], key=key, owner=e.owner,
                         fencing_token=e.fencing_token, metadata=dict(e.metadata),
                         time=_ts(e.time), cursor=e.cursor, revision=e.position.revision,
                         snapshot=e.snapshot, ttl_seconds=e.ttl_seconds,
                         queued_at=_ts(e.queued_at), acquired_at=_ts(e.acquired_at))


class _Converted:
    """Each event becomes a message once, not once per watcher (100 watchers of one stream
    of events would otherwise convert every event 100 times)."""

    def __init__(self, size: int = 4096) -> None:
        self._cache: OrderedDict[int, tuple[LockEvent, pb.WatchEvent]] = OrderedDict()
        self._size = size

    def __call__(self, e: LockEvent) -> pb.WatchEvent:
        hit = self._cache.get(id(e))
        if hit is not None and hit[0] is e:
            return hit[1]
        msg = event_pb(e, e.key)
        self._cache[id(e)] = (e, msg)
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return msg


converted = _Converted()


def selector(request: pb.WatchRequest) -> tuple[str, bool]:
    """(prefix or key, exact) of a request, validated."""
    check_text("cursor", request.cursor, MAX_CURSOR_BYTES, required=False)
    if request.WhichOneof("selector") == "key":
        return check_text("key", request.key, MAX_PREFIX_BYTES), True
    return check_text("prefix", request.prefix, MAX_PREFIX_BYTES, required=False), False


async def watch(hub: EventHub, prefix: str, exact: bool, cursor: str,
                rename: Callable[[str], str] | None = None) -> AsyncIterator[pb.WatchResponse]:
    """The hub's events of `prefix`, a message per batch; `rename` maps stored keys to the
    caller's (a tenant's keys without their tenant prefix)."""
    async for batch in hub.subscribe_batches(prefix, exact=exact, cursor=cursor):
        if rename is None:
            yield pb.WatchResponse(events=[converted(e) for e in batch])
        else:
            yield pb.WatchResponse(events=[event_pb(e, rename(e.key) if e.key else "")
                                           for e in batch])
