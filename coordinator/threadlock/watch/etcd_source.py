"""The etcd Source of the event hub: a snapshot is a paged range read of every contender at
one revision; changes come from one etcd watch on the whole key prefix with prev_kv (so each
delete carries the value it deleted, and each put the value it replaced).

One watch per replica, not per watcher: the hub fans it out. The stream asks for a member
with a leader (LEADER_REQUIRED); when it breaks it is reopened from the last delivered
revision + 1 on the next endpoint, so nothing in between is missed. A compacted start
revision raises Compacted: the caller must take a fresh snapshot.

Within one etcd watch response, etcd never splits the events of one revision (it batches at
revision boundaries unless asked to fragment, which we do not), so a response's events group
into whole revisions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio

from threadlock.errors import Unavailable
from threadlock.etcd.client import LEADER_REQUIRED, translate
from threadlock.etcd.store import EtcdStore, prefix_end
from threadlock.internal.etcd import kv_pb2
from threadlock.internal.etcd import rpc_pb2 as pb
from threadlock.store import Contender
from threadlock.watch.events import Change, Delete, Put, Tombstone
from threadlock.watch.source import Batch, Compacted, Snapshot

log = logging.getLogger("threadlock.watch.etcd")
PAGE = 1000  # contenders per read of a snapshot


class EtcdSource:
    def __init__(self, store: EtcdStore) -> None:
        self.store = store
        self.client = store.client
        self._k = store.p + b"k/"  # contenders
        self._t = store.p + b"t/"  # release tombstones

    async def snapshot(self, deadline: float) -> Snapshot:
        """Every contender at one revision (pages read at the first page's revision)."""
        lo, hi = self._k, prefix_end(self._k)
        revision, cluster = 0, 0
        out: list[Contender] = []
        key = lo
        while True:
            resp = await self.client.call(
                lambda s: s.kv.Range, pb.RangeRequest(key=key, range_end=hi, limit=PAGE,
                                                      revision=revision),
                deadline, "watch snapshot")
            if not revision:
                revision, cluster = resp.header.revision, resp.header.cluster_id
            out.extend(self._contender(kv) for kv in resp.kvs)
            if not resp.more or not resp.kvs:
                return Snapshot(f"e{cluster:x}", revision, out)
            key = resp.kvs[-1].key + b"\x00"

    def _contender(self, kv: kv_pb2.KeyValue) -> Contender:
        return self.store._contender(kv)  # one decoder for one key layout

    def _change(self, ev: kv_pb2.Event) -> Change | None:
        kv, rev = ev.kv, ev.kv.mod_revision
        if kv.key.startswith(self._t):
            if ev.type == kv_pb2.Event.PUT:  # a release tombstone (its expiry is no event)
                return Tombstone(rev, kv.key[len(self._t):].decode())
            return None
        if not kv.key.startswith(self._k):
            return None  # sessions, fences
        has_prev = ev.HasField("prev_kv") and ev.prev_kv.create_revision != 0
        if ev.type == kv_pb2.Event.PUT:
            prev = self._contender(ev.prev_kv) if has_prev else None
            return Put(rev, self._contender(kv), prev)
        if not has_prev:  # the previous value was compacted away: nothing to tell
            return None
        return Delete(rev, self._contender(ev.prev_kv))

    async def changes(self, after: int, until: int = 0) -> AsyncIterator[Batch]:
        last = after
        backoff = 0.05
        while True:
            call = self.client.stubs.watch.Watch(metadata=LEADER_REQUIRED)
            try:
                await call.write(pb.WatchRequest(create_request=pb.WatchCreateRequest(
                    key=self.store.p, range_end=prefix_end(self.store.p),
                    start_revision=last + 1, prev_kv=True)))
                async for batch in self._read(call, last, until):
                    if until and batch.revision > until:
                        return
                    backoff = 0.05
                    yield batch
                    last = batch.revision
                if until:
                    return
            except grpc.aio.AioRpcError as exc:
                err = translate(exc, "watch")
                log.warning("etcd watch for Watch broke (%s); resuming after revision %d",
                            exc.code().name, last)
                self.client.on_error("watch", exc.code())
                self.client.failover()
                if until:  # a catch-up: the caller resumes it, or answers the watcher
                    raise err from exc
            finally:
                call.cancel()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _read(self, call: Any, after: int, until: int) -> AsyncIterator[Batch]:
        """Batches from one open watch stream; returns when it ends (or, with `until`, once
        a progress answer says every revision up to `until` was sent)."""
        while True:
            resp = await call.read()
            if resp is grpc.aio.EOF:
                return
            if resp.compact_revision:
                raise Compacted(f"etcd compacted revision {after + 1} "
                                f"(compacted up to {resp.compact_revision})")
            if resp.canceled:
                raise Unavailable(f"etcd cancelled the watch: {resp.cancel_reason}")
            if resp.created:
                if until:  # answered once the watch has sent everything up to now
                    await call.write(pb.WatchRequest(progress_request=pb.WatchProgressRequest()))
                continue
            if not resp.events:
                if until and resp.header.revision >= until:
                    return
                continue
            batches: list[Batch] = []
            for ev in resp.events:
                rev = ev.kv.mod_revision
                if not batches or batches[-1].revision != rev:
                    batches.append(Batch(rev, []))
                ch = self._change(ev)
                if ch is not None:
                    batches[-1].changes.append(ch)
            for b in batches:
                yield b


async def etcd_compact(store: EtcdStore, revision: int, timeout: float = 5.0) -> None:
    """Compact etcd's history up to `revision` (for tests and operators' drills)."""
    await store.client.call(lambda s: s.kv.Compact,
                            pb.CompactionRequest(revision=revision, physical=True),
                            time.monotonic() + timeout, "compact")
