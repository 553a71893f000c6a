"""The write-path fuzzer's etcd side: a TCP relay that makes etcd unavailable at will, and
the scan for orphans (contender keys and short leases left once every TTL passed)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import grpc.aio

from threadlock.internal.etcd import rpc_pb2, rpc_pb2_grpc

SLOT_TTL = 10  # waiter slots live 10 s (acquire.WAITER_TTL); locks and sessions less


class Relay:
    """TCP relay to etcd that `cut()` turns off (drops every connection, refuses new ones)."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.rsplit(":", 1)
        self.up = (host, int(port))
        self.open = True
        self.conns: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None
        self.cuts = 0

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        if not self.open:
            w.close()
            return
        try:
            ur, uw = await asyncio.open_connection(*self.up)
        except OSError:
            w.close()
            return
        self.conns |= {w, uw}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()
        # Cancelled when the run's loop shuts down: end quietly (Python 3.11's start_server
        # callback calls task.exception() on a cancelled handler and logs a traceback).
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(pipe(r, uw), pipe(ur, w))
        self.conns -= {w, uw}

    async def cut(self, seconds: float) -> None:
        self.open, self.cuts = False, self.cuts + 1
        for w in list(self.conns):
            w.transport.abort()
        await asyncio.sleep(seconds)
        self.open = True

    async def close(self) -> None:
        for w in list(self.conns):
            w.transport.abort()
        if self.server is not None:
            self.server.close()



async def orphans_in(endpoint: str, prefix: str) -> list[str]:
    """After every lock's, slot's and session's TTL: contender keys, and leases of those
    TTLs, still in etcd (tombstones and fences live on their own 60-90 s leases)."""
    async with grpc.aio.insecure_channel(endpoint) as ch:
        kv, lease = rpc_pb2_grpc.KVStub(ch), rpc_pb2_grpc.LeaseStub(ch)
        start = (prefix + "k/").encode()
        end = start[:-1] + bytes([start[-1] + 1])
        left: list[str] = []
        until = time.monotonic() + SLOT_TTL + 5
        while True:
            keys = await kv.Range(rpc_pb2.RangeRequest(key=start, range_end=end, keys_only=True),
                                  timeout=5)
            ids = (await lease.LeaseLeases(rpc_pb2.LeaseLeasesRequest(), timeout=5)).leases
            short = []
            for item in ids:
                ttl = await lease.LeaseTimeToLive(rpc_pb2.LeaseTimeToLiveRequest(ID=item.ID),
                                                  timeout=5)
                if 0 < ttl.grantedTTL <= SLOT_TTL:
                    short.append(f"lease {item.ID:x} (TTL {ttl.grantedTTL}, {ttl.TTL} s left)")
            left = [kv_.key.decode(errors="replace") for kv_ in keys.kvs] + short
            if not left or time.monotonic() > until:
                return left
            await asyncio.sleep(1)
