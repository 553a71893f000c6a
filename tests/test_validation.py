"""Bad input gets INVALID_ARGUMENT (or NOT_FOUND for a well-formed token that names nothing)
with a message naming the field, on both backends, and the service keeps working."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from harness import Coordinator, dur, rpc_error

from threadlock import tokens
from threadlock.v1 import lock_pb2 as pb

pytestmark = pytest.mark.asyncio

OK: dict[str, Any] = {"key": "conv_1", "owner": "w1", "ttl": dur(10)}

ACQUIRES = [
    ({"key": ""}, "key: must not be empty"),
    ({"key": "k" * 513}, "key: must be at most 512 bytes"),
    ({"key": "conv\n1"}, "key: must not contain control characters"),
    ({"owner": ""}, "owner: must not be empty"),
    ({"owner": "o" * 257}, "owner: must be at most 256 bytes"),
    ({"ttl": dur(0)}, "ttl: must be between 2s and 3600s, got 0s"),
    ({"ttl": dur(1)}, "ttl: must be between 2s and 3600s, got 1s"),
    ({"ttl": dur(3601)}, "ttl: must be between 2s and 3600s"),
    ({"ttl": dur(-5)}, "ttl: must be between"),
    ({"wait": dur(-1)}, "wait: must be between 0s and 600s"),
    ({"wait": dur(601)}, "wait: must be between 0s and 600s"),
    ({"request_id": "r" * 129}, "request_id: must be at most 128 bytes"),
    ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata: at most 16 entries"),
    ({"metadata": {"run_id": "x" * 1025}}, "metadata[run_id]: must be at most 1024 bytes"),
    ({"metadata": {"": "x"}}, "metadata key: must not be empty"),
    ({"session_id": "ts1.AAAA", "ttl": dur(10)}, "ttl: must be unset when session_id is set"),
    ({"session_id": "garbage", "ttl": None}, "session_id: is not a threadlock session id"),
]


@pytest.mark.parametrize(("change", "message"), ACQUIRES, ids=[m for _, m in ACQUIRES])
async def test_bad_acquire_names_the_field(coord: Coordinator, change: dict[str, Any],
                                           message: str) -> None:
    fields = {**OK, **change}
    fields = {k: v for k, v in fields.items() if v is not None}
    err = await rpc_error(coord.stub.Acquire(pb.AcquireRequest(**fields), timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (err.details() or "")
    # Nothing was left behind and the service still works.
    assert (await coord.acquire("conv_1", "w1")).WhichOneof("result") == "lease"


async def test_fractional_ttl_rounds_up_to_whole_seconds(coord: Coordinator) -> None:
    lease = await coord.lease("conv_f", "w1", ttl=2.5)
    assert lease.ttl.ToTimedelta().total_seconds() == 3


async def test_unicode_keys_are_fine(coord: Coordinator) -> None:
    lease = await coord.lease("разговор/1 ✓", "воркер")
    assert (await coord.status("разговор/1 ✓"))[0].holder.owner == "воркер"
    assert await coord.release(lease.lease_token)


@pytest.mark.parametrize("call", ["keepalive", "release", "close", "open", "status"])
async def test_bad_tokens_and_fields_elsewhere(coord: Coordinator, call: str) -> None:
    s = coord.stub
    req: Any
    if call == "keepalive":
        req, field = s.KeepAlive(pb.KeepAliveRequest(lease_token="tl1.###"), timeout=10), \
            "lease_token"
    elif call == "release":
        req, field = s.Release(pb.ReleaseRequest(lease_token=""), timeout=10), "lease_token"
    elif call == "close":
        req, field = s.CloseSession(pb.CloseSessionRequest(session_id="x"), timeout=10), \
            "session_id"
    elif call == "open":
        req, field = s.OpenSession(pb.OpenSessionRequest(owner="p", ttl=dur(1)), timeout=10), \
            "ttl"
    else:
        req, field = s.Status(pb.StatusRequest(prefix="", page_size=5000), timeout=10), \
            "page_size"
    err = await rpc_error(req)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.details() or "").startswith(f"{field}:")


async def test_unknown_but_well_formed_tokens_are_not_found(coord: Coordinator) -> None:
    lease_token = tokens.encode_lease(tokens.LeaseRef("conv_1", "n" + "1" * 32, 987654, 5))
    err = await rpc_error(coord.stub.KeepAlive(pb.KeepAliveRequest(lease_token=lease_token),
                                               timeout=10))
    assert err.code() == grpc.StatusCode.NOT_FOUND and "lease_token" in (err.details() or "")
    session = tokens.encode_session(tokens.SessionRef(987654, "abc"))
    err = await rpc_error(coord.stub.KeepAlive(pb.KeepAliveRequest(session_id=session),
                                               timeout=10))
    assert err.code() == grpc.StatusCode.NOT_FOUND and "session_id" in (err.details() or "")
    closed = await coord.stub.CloseSession(pb.CloseSessionRequest(session_id=session),
                                           timeout=10)
    assert not closed.closed
