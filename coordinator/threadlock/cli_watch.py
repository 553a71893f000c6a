"""`threadlock watch [KEY] [--prefix P]`: lock events as they happen.

On a terminal: a live table (key, holder, fencing token, waiters in queue order, held for,
time left), redrawn in place every second. Time left comes from a Status call every few
seconds (renewals are not events). Otherwise (a pipe, or --json): one line per event, JSON
with --json, e.g. `threadlock watch --prefix conv_ --json | jq .kind`.

The stream is resumed with the last cursor when the coordinator answers UNAVAILABLE (a
restart behind a load balancer), for up to --timeout seconds without an answer. --count N
stops after N change events (not counting the snapshot); --cursor resumes an earlier watch.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import timestamp_pb2

from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc

EXIT_ERROR, EXIT_USAGE = 1, 2
KIND = {v: k.removeprefix("KIND_").lower() for k, v in pb.WatchEvent.Kind.items()}
LIFECYCLE = (pb.WatchEvent.KIND_SNAPSHOT_END, pb.WatchEvent.KIND_CURSOR_TOO_OLD)


def add_parser(sub: Any, client: argparse.ArgumentParser) -> None:
    w = sub.add_parser("watch", parents=[client], help="follow lock events (a live table on "
                       "a terminal, one line per event otherwise)")
    w.add_argument("key", nargs="?", help="exactly this key (default: all keys)")
    w.add_argument("--prefix", help="every key starting with PREFIX")
    w.add_argument("--cursor", default="", help="resume after the event with this cursor")
    w.add_argument("--count", type=int, default=0,
                   help="stop after this many change events (default: follow for ever)")


def _unix(ts: timestamp_pb2.Timestamp) -> float:
    return ts.seconds + ts.nanos / 1e9


def event_json(e: pb.WatchEvent) -> str:
    def iso(ts: timestamp_pb2.Timestamp) -> str | None:
        return ts.ToJsonString() if ts.seconds or ts.nanos else None
    return json.dumps({
        "kind": KIND.get(e.kind, "unknown"), "key": e.key, "owner": e.owner,
        "fencing_token": e.fencing_token, "metadata": dict(e.metadata), "time": iso(e.time),
        "cursor": e.cursor, "revision": e.revision, "snapshot": e.snapshot,
        "ttl_seconds": e.ttl_seconds, "queued_at": iso(e.queued_at),
        "acquired_at": iso(e.acquired_at)}, sort_keys=True)


def event_line(e: pb.WatchEvent) -> str:
    if e.kind in LIFECYCLE:
        return KIND[e.kind]
    meta = ",".join(f"{k}={v}" for k, v in sorted(e.metadata.items()))
    return (f"{KIND.get(e.kind, 'unknown')} {e.key} owner={e.owner} token={e.fencing_token}"
            + (f" {meta}" if meta else "") + (" (snapshot)" if e.snapshot else ""))


@dataclass
class Table:
    """The lock state rebuilt from events: key -> fencing token -> latest event."""

    locks: dict[str, dict[int, pb.WatchEvent]] = field(default_factory=dict)
    expires: dict[str, float] = field(default_factory=dict)  # key -> unix time (Status)
    staged: dict[str, dict[int, pb.WatchEvent]] | None = None  # a snapshot being read

    def apply(self, e: pb.WatchEvent) -> None:
        if e.kind == pb.WatchEvent.KIND_CURSOR_TOO_OLD:
            self.staged = {}
            return
        if e.snapshot:
            if self.staged is None:
                self.staged = {}
            self.staged.setdefault(e.key, {})[e.fencing_token] = e
            return
        if e.kind == pb.WatchEvent.KIND_SNAPSHOT_END:
            self.locks, self.staged = self.staged or {}, None
            return
        if e.kind in (pb.WatchEvent.KIND_RELEASED, pb.WatchEvent.KIND_EXPIRED,
                      pb.WatchEvent.KIND_LEFT_QUEUE):
            group = self.locks.get(e.key, {})
            group.pop(e.fencing_token, None)
            if not group:
                self.locks.pop(e.key, None)
        else:
            self.locks.setdefault(e.key, {})[e.fencing_token] = e

    def render(self, now: float) -> str:
        rows = [("KEY", "HOLDER", "TOKEN", "HELD FOR", "TIME LEFT", "WAITERS (in order)")]
        for key in sorted(self.locks):
            group = [self.locks[key][t] for t in sorted(self.locks[key])]
            holder = next((e for e in group if e.kind != pb.WatchEvent.KIND_QUEUED), None)
            waiters = [e.owner for e in group if e is not holder]
            if holder is None:
                rows.append((key, "-", "-", "-", "-", ", ".join(waiters)))
                continue
            left = self.expires.get(key)
            rows.append((key, holder.owner, str(holder.fencing_token),
                         _human(now - _unix(holder.acquired_at)),
                         _human(left - now) if left else "?", ", ".join(waiters) or "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        lines = ["  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[-1]])
                 for r in rows]
        return "\n".join(lines) + f"\n\n{len(self.locks)} keys  (ctrl-c to stop)"


def _human(seconds: float) -> str:
    total = max(0, round(seconds))
    return f"{total}s" if total < 60 else f"{total // 60}m{total % 60:02d}s"


def events(stub: lock_pb2_grpc.LockServiceStub, request: pb.WatchRequest,
           give_up_after: float) -> Iterator[pb.WatchEvent]:
    """The stream's events, resumed with the last cursor on UNAVAILABLE."""
    failing_since: float | None = None
    while True:
        try:
            for resp in stub.Watch(request):
                failing_since = None
                for e in resp.events:
                    if e.cursor:
                        request.cursor = e.cursor
                    yield e
            return
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNAVAILABLE:
                raise
            failing_since = failing_since or time.monotonic()
            if time.monotonic() - failing_since > give_up_after:
                raise
            time.sleep(0.5)


def run(stub: lock_pb2_grpc.LockServiceStub, args: argparse.Namespace) -> int:
    if args.key is not None and args.prefix is not None:
        print("error: give KEY or --prefix, not both", file=sys.stderr)
        return EXIT_USAGE
    request = pb.WatchRequest(cursor=args.cursor)
    if args.key is not None:
        request.key = args.key
    else:
        request.prefix = args.prefix or ""
    stream = events(stub, request, float(args.timeout))
    if args.json or not sys.stdout.isatty():
        return _lines(stream, args)
    return _live(stub, stream, request)


def _lines(stream: Iterator[pb.WatchEvent], args: argparse.Namespace) -> int:
    changes = 0
    for e in stream:
        print(event_json(e) if args.json else event_line(e), flush=True)
        if not e.snapshot and e.kind not in LIFECYCLE:
            changes += 1
            if args.count and changes >= args.count:
                return 0
    return 0


def _live(stub: lock_pb2_grpc.LockServiceStub, stream: Iterator[pb.WatchEvent],
          request: pb.WatchRequest) -> int:
    table, lock = Table(), threading.Lock()
    failure: list[BaseException] = []

    def read() -> None:
        try:
            for e in stream:
                with lock:
                    table.apply(e)
        except BaseException as exc:  # shown by the main thread
            failure.append(exc)

    threading.Thread(target=read, daemon=True).start()
    last_status = 0.0
    while not failure:
        now = time.time()
        if time.monotonic() - last_status > 3:
            last_status = time.monotonic()
            try:
                status = stub.Status(pb.StatusRequest(key=request.key) if request.key else
                                     pb.StatusRequest(prefix=request.prefix, page_size=1000),
                                     timeout=5)
                with lock:
                    table.expires = {s.key: _unix(s.holder.expires_at) for s in status.locks}
            except grpc.RpcError:
                pass  # time left shows "?" until Status answers again
        with lock:
            screen = table.render(now)
        sys.stdout.write("\x1b[H\x1b[J" + screen + "\n")
        sys.stdout.flush()
        time.sleep(1)
    raise failure[0]
