"""Deletion watches for queued contenders, multiplexed over one etcd Watch stream.

Each waiter registers the keys it waits on (its predecessor and itself) with its own future:
one wake-up per waiter, no shared condition, no thundering herd (a waiter watches only the
contender right before it, as in etcd's concurrency.Mutex).

Watches start from the current revision, then check that their key still exists as the
waiter read it (same create revision): a deletion before the watch began is seen by that
check, one after it by the watch. Not a start revision in the past: etcd serves such a watch
from its "unsynced" set, which it catches up only every 100 ms, and under contention every
watch would start in the past (measured: 100 ms handoffs at 2 contenders).

The stream stays open while etcd serves it. When it breaks (etcd restarted, member lost), it
is reopened with backoff and every watch is created and checked again, so no deletion in
between is missed; a failed check wakes its waiter to re-read instead of waiting on silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio

from threadlock.etcd.client import LEADER_REQUIRED, EtcdClient
from threadlock.internal.etcd import kv_pb2, rpc_pb2
from threadlock.timeouts import within

log = logging.getLogger("threadlock.etcd.watch")


@dataclass
class _Watch:
    key: bytes
    revision: int  # create revision of the key as the waiter read it
    wake: asyncio.Future[None]


class WatchHub:
    def __init__(self, client: EtcdClient) -> None:
        self._client = client
        self._watches: dict[int, _Watch] = {}
        self._ids = itertools.count(1)
        self._outbox: asyncio.Queue[rpc_pb2.WatchRequest] = asyncio.Queue()
        self._runner: asyncio.Task[None] | None = None
        self._checks: set[asyncio.Task[None]] = set()

    async def wait_deleted(self, keys: list[tuple[bytes, int]], deadline: float) -> None:
        """Return when any of `keys` (key, create revision) is gone or was replaced, also
        before this call, when the hub asks for a re-read, or at `deadline`."""
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ids = [next(self._ids) for _ in keys]
        for wid, (key, revision) in zip(ids, keys, strict=True):
            self._watches[wid] = _Watch(key, revision, wake)
            self._outbox.put_nowait(_create(wid, self._watches[wid]))
        self._ensure_running()
        try:
            with contextlib.suppress(TimeoutError):
                await within(asyncio.shield(wake), deadline - time.monotonic())
        finally:
            for wid in ids:
                if self._watches.pop(wid, None) is not None:
                    self._outbox.put_nowait(rpc_pb2.WatchRequest(
                        cancel_request=rpc_pb2.WatchCancelRequest(watch_id=wid)))

    def _ensure_running(self) -> None:
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run())

    async def _run(self) -> None:
        backoff = 0.05
        while self._watches:
            call = self._client.stubs.watch.Watch(metadata=LEADER_REQUIRED)
            sender = asyncio.create_task(self._send(call))
            try:
                while True:
                    resp = await call.read()
                    if resp is grpc.aio.EOF:
                        break
                    backoff = 0.05
                    self._dispatch(resp)
            except grpc.aio.AioRpcError as exc:
                if self._watches:  # an idle stream's end (etcd restarted) harms nobody
                    log.warning("etcd watch stream broke (%s); resuming", exc.code().name)
                    self._client.on_error("watch", exc.code())
                    self._client.failover()
            finally:
                sender.cancel()
                call.cancel()
            # Re-create (and re-check) every live watch on the next stream.
            self._outbox = asyncio.Queue()
            for wid, w in self._watches.items():
                self._outbox.put_nowait(_create(wid, w))
            if self._watches:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    async def _send(self, call: Any) -> None:
        while True:
            req = await self._outbox.get()
            await call.write(req)

    def _dispatch(self, resp: rpc_pb2.WatchResponse) -> None:
        w = self._watches.get(resp.watch_id)
        if w is None:
            return
        if resp.canceled:  # refused: wake the waiter to re-read
            log.info("etcd cancelled watch %s (%s)", resp.watch_id, resp.cancel_reason)
            self._watches.pop(resp.watch_id, None)
            _wake(w)
            return
        if resp.created:  # it sees deletions from now on: was there one before?
            task = asyncio.create_task(self._check(w))
            self._checks.add(task)
            task.add_done_callback(self._checks.discard)
        if any(ev.type == kv_pb2.Event.DELETE for ev in resp.events):
            _wake(w)

    async def _check(self, w: _Watch) -> None:
        try:
            resp = await self._client.call(
                lambda s: s.kv.Range, rpc_pb2.RangeRequest(key=w.key, keys_only=True),
                time.monotonic() + self._client.op_timeout, "watch check")
        except Exception as exc:  # whatever it was, the answer is unknown: let the waiter re-read
            log.info("watch check failed (%s); waking the waiter to re-read", exc)
            _wake(w)
            return
        if not resp.kvs or resp.kvs[0].create_revision != w.revision:
            _wake(w)

    async def close(self) -> None:
        for task in list(self._checks):
            task.cancel()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(BaseException):
                await self._runner
        for w in self._watches.values():
            _wake(w)


def _create(wid: int, w: _Watch) -> rpc_pb2.WatchRequest:
    return rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(
        key=w.key, watch_id=wid, filters=[rpc_pb2.WatchCreateRequest.NOPUT]))


def _wake(w: _Watch) -> None:
    if not w.wake.done():
        w.wake.set_result(None)
