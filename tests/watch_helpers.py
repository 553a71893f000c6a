"""Helpers for the Watch tests: a watcher that collects a stream's events in a task, and
the lock state rebuilt from events (what a client of Watch would keep)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import grpc
import grpc.aio
from harness import eventually

from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc

K = pb.WatchEvent


@dataclass
class Watcher:
    """Runs Watch on `stub` in the background and records every event (and the error that
    ended the stream, if any)."""

    stub: lock_pb2_grpc.LockServiceStub
    request: pb.WatchRequest
    metadata: tuple[tuple[str, str], ...] = ()
    events: list[pb.WatchEvent] = field(default_factory=list)
    error: grpc.aio.AioRpcError | None = None
    task: asyncio.Task[None] | None = None

    def start(self) -> Watcher:
        self.task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        call = self.stub.Watch(self.request, metadata=self.metadata or None)
        try:
            async for resp in call:
                self.events.extend(resp.events)
        except grpc.aio.AioRpcError as exc:
            self.error = exc

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    def changes(self) -> list[pb.WatchEvent]:
        return [e for e in self.events if not e.snapshot and e.kind not in (
            K.KIND_SNAPSHOT_END, K.KIND_CURSOR_TOO_OLD)]

    def kinds(self, key: str | None = None) -> list[int]:
        return [e.kind for e in self.changes() if key is None or e.key == key]

    async def wait_for(self, check: object, timeout: float = 20.0) -> None:
        async def ok() -> bool:
            if self.error is not None:
                raise AssertionError(f"watch ended: {self.error}")
            return bool(check(self))  # type: ignore[operator]
        await eventually(ok, timeout)

    async def wait_kind(self, kind: int, key: str, count: int = 1) -> None:
        await self.wait_for(lambda w: w.kinds(key).count(kind) >= count)

    async def snapshot_done(self) -> None:
        await self.wait_for(lambda w: any(e.kind == K.KIND_SNAPSHOT_END for e in w.events))


def rebuild(events: list[pb.WatchEvent]) -> dict[str, list[tuple[str, int, bool]]]:
    """key -> [(owner, fencing token, holds)] in token order, from a stream's events: what a
    client keeps. A CURSOR_TOO_OLD or a snapshot after changes starts over."""
    state: dict[str, dict[int, tuple[str, int, bool]]] = {}
    in_snapshot = False
    for e in events:
        if e.kind == K.KIND_CURSOR_TOO_OLD or (e.snapshot and not in_snapshot):
            state, in_snapshot = {}, e.snapshot
        if e.kind == K.KIND_SNAPSHOT_END:
            in_snapshot = False
            continue
        if e.kind in (K.KIND_GRANTED, K.KIND_QUEUED):
            state.setdefault(e.key, {})[e.fencing_token] = (
                e.owner, e.fencing_token, e.kind == K.KIND_GRANTED)
        elif e.kind in (K.KIND_RELEASED, K.KIND_EXPIRED, K.KIND_LEFT_QUEUE):
            group = state.get(e.key, {})
            group.pop(e.fencing_token, None)
            if not group:
                state.pop(e.key, None)
    return {k: [v[t] for t in sorted(v)] for k, v in state.items() if v}


def from_status(locks: list[pb.LockState]) -> dict[str, list[tuple[str, int, bool]]]:
    """The same shape from Status (waiters carry no token: compared by owner and order)."""
    return {s.key: [(s.holder.owner, s.holder.fencing_token, True)]
            + [(w.owner, 0, False) for w in s.waiters] for s in locks}


def without_tokens(state: dict[str, list[tuple[str, int, bool]]]) -> dict[str, list[str]]:
    return {k: [o for o, _, _ in v] for k, v in state.items()}
