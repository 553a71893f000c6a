"""A grant that reaches the SDK after its lease may have lapsed is never handed out.

Found by the long chaos run on a machine at load 60: a worker's Acquire answer arrived about
2 s after its grant, when its 2 s lease had already lapsed and the key had been granted again;
the SDK read the server's expires_at with a clamp (at least ttl/2 left) and handed out the old
grant, whose write the fenced resource then rejected. Now the coordinator says how long the
lease lasts counted from when it received the call (Lease.valid_for), the SDK adds that to
when it SENT the request, and a grant that arrives too late is released and acquired again.

The lateness here is real: a TCP relay between SDK and coordinator holds the coordinator's
bytes back for longer than the TTL while the test arms it; the coordinator and etcd are real.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from harness import eventually
from sdk_faces import Face

from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc as pb_grpc

TTL = 2  # the smallest lease: the relay's delay outlasts it
DELAY = 4.0


class SlowRelay:
    """Forwards client bytes at once; coordinator bytes that arrive while `armed` (and all
    that queue behind them, so the stream stays in order) are held back for DELAY seconds."""

    def __init__(self, upstream: str) -> None:
        self.host, port = upstream.rsplit(":", 1)
        self.port = int(port)
        self.armed = False
        self.held_back = 0  # chunks delayed so far: the test checks the relay did its job
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection(self.host, self.port)
        self._spawn(self._pipe(reader, up_w, delayed=False))
        self._spawn(self._pipe(up_r, writer, delayed=True))

    async def _pipe(self, r: asyncio.StreamReader, w: asyncio.StreamWriter,
                    delayed: bool) -> None:
        release_at = 0.0
        try:
            while chunk := await r.read(65536):
                if delayed and self.armed:
                    self.armed = False  # this chunk, and everything queued behind it
                    self.held_back += 1
                    release_at = time.monotonic() + DELAY
                if delayed and release_at > time.monotonic():
                    await asyncio.sleep(release_at - time.monotonic())
                w.write(chunk)
                await w.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                w.close()


@pytest.fixture
async def relay(served: str) -> AsyncIterator[tuple[SlowRelay, str]]:
    r = SlowRelay(served)
    address = await r.start()
    yield r, address
    await r.close()


async def _holder(channel: grpc.aio.Channel, key: str) -> int:
    st = await pb_grpc.LockServiceStub(channel).Status(pb.StatusRequest(key=key), timeout=10)
    return st.locks[0].holder.fencing_token if st.locks else 0


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_grant_that_arrives_after_its_ttl_is_released_and_acquired_again(
        kind: str, served: str, relay: tuple[SlowRelay, str]) -> None:
    slow, address = relay
    key = f"conv_{uuid.uuid4().hex[:10]}"
    f = Face(kind, address, call_timeout=20)
    direct = grpc.aio.insecure_channel(served)
    try:
        await f.status(key)  # the connection is up: the next coordinator bytes answer Acquire
        slow.armed = True
        started = time.monotonic()
        acquiring = asyncio.ensure_future(f.acquire(key, ttl=TTL))
        first = await eventually(lambda: _holder(direct, key))  # granted; answer held back
        lease = await acquiring
        took = time.monotonic() - started
        assert slow.held_back == 1 and took >= DELAY - 0.5, (slow.held_back, took)
        # The first grant lapsed while its answer was held back; the caller got a later grant,
        # the live holder now, never the first one.
        assert lease.fencing_token > first
        assert not lease.lost
        assert await _holder(direct, key) == lease.fencing_token
        assert lease.fencing_token > 0
        await lease.release()
    finally:
        await f.close()
        await direct.close()


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_prompt_grant_is_handed_out_as_it_is(
        kind: str, served: str, relay: tuple[SlowRelay, str]) -> None:
    """The control: through the same relay, unarmed, the first grant is the one handed out."""
    _, address = relay
    key = f"conv_{uuid.uuid4().hex[:10]}"
    f = Face(kind, address)
    direct = grpc.aio.insecure_channel(served)
    try:
        await f.status(key)
        lease = await f.acquire(key, ttl=TTL)
        assert await _holder(direct, key) == lease.fencing_token
        assert not lease.lost
        assert await lease.release() is True  # the first grant: released now, not before
    finally:
        await f.close()
        await direct.close()
