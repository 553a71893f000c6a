"""One async interface over both faces of the SDK, so that the sync face (LockClient, run in
worker threads) and the async face (AsyncLockClient) pass literally the same tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

from threadlock_client import Lease, LockClient
from threadlock_client._proto import lock_pb2 as pb
from threadlock_client.aio import AsyncLease, AsyncLockClient


class LeaseHandle(Protocol):
    fencing_token: int
    lost: bool
    lease_token: str
    session_id: str

    def check(self) -> None: ...
    async def annotate(self, **metadata: str) -> None: ...
    async def wait_lost(self, timeout: float) -> bool: ...
    async def release(self) -> bool: ...


class SyncLeaseHandle:
    def __init__(self, lease: Lease) -> None:
        self.lease = lease

    def __getattr__(self, name: str) -> Any:
        return getattr(self.lease, name)

    def check(self) -> None:
        self.lease.check()

    async def annotate(self, **metadata: str) -> None:
        await asyncio.to_thread(self.lease.annotate, **metadata)

    async def wait_lost(self, timeout: float) -> bool:
        return await asyncio.to_thread(self.lease.wait_lost, timeout)

    async def release(self) -> bool:
        return await asyncio.to_thread(self.lease.release)


class Face:
    """`kind` is "sync" or "async"; `hold`, `acquire`, `status` and `close` are async here."""

    def __init__(self, kind: str, addresses: str | list[str], **options: Any) -> None:
        self.kind = kind
        self.sync = LockClient(addresses, **options) if kind == "sync" else None
        self.aio = AsyncLockClient(addresses, **options) if kind == "async" else None

    @contextlib.asynccontextmanager
    async def hold(self, key: str, **kw: Any) -> AsyncIterator[Any]:
        if self.aio is not None:
            async with self.aio.hold(key, **kw) as lease:
                yield lease
            return
        assert self.sync is not None
        cm = self.sync.hold(key, **kw)
        held = await asyncio.to_thread(cm.__enter__)
        try:
            yield SyncLeaseHandle(held)
        except BaseException as exc:
            if not await asyncio.to_thread(cm.__exit__, type(exc), exc, exc.__traceback__):
                raise
        else:
            await asyncio.to_thread(cm.__exit__, None, None, None)

    async def acquire(self, key: str, **kw: Any) -> Any:
        if self.aio is not None:
            return await self.aio.acquire(key, **kw)
        assert self.sync is not None
        return SyncLeaseHandle(await asyncio.to_thread(self.sync.acquire, key, **kw))

    async def status(self, key: str | None = None, prefix: str = "") -> list[pb.LockState]:
        if self.aio is not None:
            return await self.aio.status(key, prefix)
        assert self.sync is not None
        return await asyncio.to_thread(self.sync.status, key, prefix)

    async def close(self) -> None:
        if self.aio is not None:
            await self.aio.close()
        elif self.sync is not None:
            await asyncio.to_thread(self.sync.close)


__all__ = ["AsyncLease", "Face", "LeaseHandle"]
