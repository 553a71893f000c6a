"""Shorthands of the conformance scenarios: command builders, Status readers, and the raw
gRPC calls the driver makes behind an SDK's back (to take a lease or a session away)."""

from __future__ import annotations

import uuid
from typing import Any

import grpc

from conformance.driver import AdapterProcess
from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc


def key(name: str) -> str:
    return f"conf-{uuid.uuid4().hex[:10]}-{name}"


def acquire(handle: str, k: str, ttl: float = 10, wait: float = 0,
            **extra: Any) -> dict[str, Any]:
    return {"cmd": "acquire", "handle": handle, "key": k, "ttl": ttl, "wait": wait, **extra}


def status(proc: AdapterProcess, k: str) -> dict[str, Any] | None:
    """The Status entry of key `k`, or None when nobody holds or waits for it."""
    locks = proc.ok({"cmd": "status", "key": k})["locks"]
    assert len(locks) <= 1 and all(lock["key"] == k for lock in locks), locks
    return locks[0] if locks else None


def waiting(proc: AdapterProcess, k: str) -> list[tuple[str, int]]:
    lock = status(proc, k)
    return [(w["owner"], w["position"]) for w in lock["waiters"]] if lock else []


def raw_release(address: str, lease_token: str) -> bool:
    """Release a lease behind its SDK's back, with a plain gRPC call."""
    with grpc.insecure_channel(address) as channel:
        resp = lock_pb2_grpc.LockServiceStub(channel).Release(
            pb.ReleaseRequest(lease_token=lease_token), timeout=10)
    return bool(resp.released)


def raw_close_session(address: str, session_id: str) -> bool:
    """End a session behind its SDK's back, with a plain gRPC call."""
    with grpc.insecure_channel(address) as channel:
        resp = lock_pb2_grpc.LockServiceStub(channel).CloseSession(
            pb.CloseSessionRequest(session_id=session_id), timeout=10)
    return bool(resp.closed)


def raw_holder_token(address: str, k: str) -> int:
    """The fencing token of `k`'s holder (0: none), asked with a plain gRPC Status."""
    with grpc.insecure_channel(address) as channel:
        resp = lock_pb2_grpc.LockServiceStub(channel).Status(pb.StatusRequest(key=k), timeout=10)
    return resp.locks[0].holder.fencing_token if resp.locks and resp.locks[0].HasField(
        "holder") else 0
