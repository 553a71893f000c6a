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
import time
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from harness import eventually
from sdk_faces import Face
from slow_relay import DELAY, SlowRelay

from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc as pb_grpc

TTL = 2  # the smallest lease: the relay's delay (slow_relay.DELAY) outlasts it


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
