"""The Watch drivers: `Watch` (an iterator, for `LockClient.watch`) and `AsyncWatch` (an
async iterator, for `AsyncLockClient.watch`). The policy - which cursor, which address, how
long to back off, which failures end the watch - is `_watch.WatchPolicy`.

    for event in client.watch(prefix="conv_"):
        print(event.kind, event.key, event.owner)   # snapshot, snapshot_end, then changes
        save(event.cursor)                          # resume later with watch(cursor=...)

Closing (`close()` / `aclose()`, or leaving a `with` / `async with` block) ends the stream.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import grpc
import grpc.aio

from threadlock_client._proto import lock_pb2_grpc
from threadlock_client._watch import WatchEvent, WatchPolicy


class Watch:
    """Lock events from a coordinator, resumed across replicas with the last cursor."""

    def __init__(self, stubs: Sequence[lock_pb2_grpc.LockServiceStub],
                 policy: WatchPolicy) -> None:
        self._stubs = stubs
        self._policy = policy
        self._call: Any = None
        self._closed = threading.Event()
        self._lock = threading.Lock()

    @property
    def cursor(self) -> str:
        """The cursor of the last event received: pass it to `watch(cursor=...)` to resume."""
        return self._policy.cursor

    def __iter__(self) -> Iterator[WatchEvent]:
        while not self._closed.is_set():
            with self._lock:
                self._call = self._stubs[self._policy.targets.current].Watch(
                    self._policy.request())
            try:
                for message in self._call:
                    for event in message.events:
                        yield self._policy.received(event)
            except grpc.RpcError as exc:
                if self._closed.is_set():
                    return
                pause = self._policy.failed(exc.code(), exc.details() or "")
                if pause and self._closed.wait(pause):
                    return
                continue
            if self._closed.is_set():
                return
            self._policy.failed(grpc.StatusCode.UNAVAILABLE, "the stream ended")

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            if self._call is not None:
                self._call.cancel()

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncWatch:
    """The asyncio twin of `Watch`."""

    def __init__(self, stubs: Sequence[lock_pb2_grpc.LockServiceStub],
                 policy: WatchPolicy) -> None:
        self._stubs = stubs
        self._policy = policy
        self._call: Any = None
        self._closed = False
        self._events: AsyncIterator[WatchEvent] | None = None

    @property
    def cursor(self) -> str:
        return self._policy.cursor

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        if self._events is None:
            self._events = self._run()
        return self._events

    async def __anext__(self) -> WatchEvent:
        return await self.__aiter__().__anext__()

    async def _run(self) -> AsyncIterator[WatchEvent]:
        while not self._closed:
            self._call = self._stubs[self._policy.targets.current].Watch(
                self._policy.request())
            try:
                async for message in self._call:
                    for event in message.events:
                        yield self._policy.received(event)
            except grpc.aio.AioRpcError as exc:
                if self._closed or exc.code() == grpc.StatusCode.CANCELLED:
                    return
                pause = self._policy.failed(exc.code(), exc.details() or "")
                if pause:
                    await asyncio.sleep(pause)
                continue
            if not self._closed:
                self._policy.failed(grpc.StatusCode.UNAVAILABLE, "the stream ended")

    async def aclose(self) -> None:
        self._closed = True
        if self._call is not None:
            self._call.cancel()
        events = self._events
        # A task iterating right now ends by itself (its call was cancelled); a suspended
        # iterator is closed here.
        if events is not None and not getattr(events, "ag_running", False):
            await events.aclose()  # type: ignore[attr-defined]

    async def __aenter__(self) -> AsyncWatch:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
