"""Lease renewal over one shared LeaseKeepAlive stream per replica.

etcd renews leases only through a bidirectional stream. Opening one per renewal would cost a
stream setup per KeepAlive; instead every renewal of this replica goes through one stream,
and each caller awaits its own future for the answer about its lease id. A broken stream
fails the pending renewals with Unavailable and is reopened by the next renewal.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import grpc
import grpc.aio

from threadlock.errors import Unavailable
from threadlock.etcd.client import EtcdClient
from threadlock.internal.etcd import rpc_pb2


class LeaseKeeper:
    def __init__(self, client: EtcdClient) -> None:
        self._client = client
        self._call: Any = None  # the open StreamStreamCall, if any
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, list[asyncio.Future[int]]] = {}
        self._open_lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()  # gRPC allows one write in flight per stream

    async def renew(self, lease: int, deadline: float) -> int:
        """Renew `lease`; its TTL in seconds, or 0 if it no longer exists."""
        timeout = self._client.timeout(deadline, "lease renewal")
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(lease, []).append(fut)
        try:
            call = await self._stream()
            async with asyncio.timeout(timeout), self._write_lock:
                await call.write(rpc_pb2.LeaseKeepAliveRequest(ID=lease))
            return await asyncio.wait_for(fut, max(deadline - time.monotonic(), 0.001))
        except (TimeoutError, grpc.aio.AioRpcError, asyncio.InvalidStateError) as exc:
            await self._reset()
            raise Unavailable(f"etcd unavailable during lease renewal: {exc!r}") from exc
        finally:
            waiting = self._pending.get(lease)
            if waiting is not None and fut in waiting:
                waiting.remove(fut)
                if not waiting:
                    del self._pending[lease]

    async def _stream(self) -> Any:
        async with self._open_lock:
            if self._call is None:
                self._call = self._client.stubs.lease.LeaseKeepAlive()
                self._reader = asyncio.create_task(self._read(self._call))
            return self._call

    async def _read(self, call: Any) -> None:
        error: BaseException = Unavailable("etcd closed the lease keepalive stream")
        try:
            while True:
                resp = await call.read()
                if resp is grpc.aio.EOF:
                    break
                for fut in self._pending.pop(resp.ID, []):
                    if not fut.done():
                        fut.set_result(max(resp.TTL, 0))
        except grpc.aio.AioRpcError as exc:
            error = Unavailable(f"etcd lease keepalive stream failed: {exc.code().name}")
            self._client.failover()
        except asyncio.CancelledError:
            pass
        finally:
            if self._call is call:
                self._call = None
            for futs in self._pending.values():
                for fut in futs:
                    if not fut.done():
                        fut.set_exception(error)

    async def _reset(self) -> None:
        call, reader = self._call, self._reader
        self._call = self._reader = None
        if call is not None:
            call.cancel()
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader

    async def close(self) -> None:
        await self._reset()
