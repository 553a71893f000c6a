"""The etcd fixtures give a real, reachable etcd whose data survives a crash and restart."""

from __future__ import annotations

import grpc
import pytest
from etcd_server import EtcdServer

from threadlock.internal.etcd import rpc_pb2, rpc_pb2_grpc

pytestmark = pytest.mark.etcd


def put(endpoint: str, key: bytes, value: bytes) -> int:
    """Put key=value; returns the revision of the write."""
    with grpc.insecure_channel(endpoint) as channel:
        resp = rpc_pb2_grpc.KVStub(channel).Put(
            rpc_pb2.PutRequest(key=key, value=value), timeout=5
        )
        revision: int = resp.header.revision
        return revision


def get(endpoint: str, key: bytes) -> bytes | None:
    with grpc.insecure_channel(endpoint) as channel:
        resp = rpc_pb2_grpc.KVStub(channel).Range(rpc_pb2.RangeRequest(key=key), timeout=5)
    if not resp.kvs:
        return None
    value: bytes = resp.kvs[0].value
    return value


def test_shared_etcd_put_range_round_trip(etcd: EtcdServer, key_prefix: str) -> None:
    key = f"{key_prefix}greeting".encode()
    assert get(etcd.endpoint, key) is None
    revision = put(etcd.endpoint, key, b"hello")
    assert revision > 0
    assert get(etcd.endpoint, key) == b"hello"


def test_key_prefixes_differ_per_test(etcd: EtcdServer, key_prefix: str) -> None:
    assert key_prefix.startswith("/tl-test/") and key_prefix.endswith("/")
    assert get(etcd.endpoint, f"{key_prefix}greeting".encode()) is None


def test_fresh_etcd_keeps_data_across_kill_and_restart(
    fresh_etcd: EtcdServer, key_prefix: str
) -> None:
    key = f"{key_prefix}survivor".encode()
    put(fresh_etcd.endpoint, key, b"v1")
    endpoint = fresh_etcd.endpoint

    fresh_etcd.kill()
    assert not fresh_etcd.running
    with pytest.raises(grpc.RpcError) as err:
        get(endpoint, key)
    assert err.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)

    fresh_etcd.restart()
    assert fresh_etcd.endpoint == endpoint
    assert get(endpoint, key) == b"v1"

    fresh_etcd.stop()  # a clean shutdown keeps it too
    fresh_etcd.restart()
    assert get(endpoint, key) == b"v1"
