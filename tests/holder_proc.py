"""A lock client in a process of its own, for crash tests: acquires KEY through the
coordinator at ADDRESS (queueing up to WAIT seconds), prints its fencing token, then renews
every 0.3 s until killed."""

from __future__ import annotations

import sys
import time

import grpc
from google.protobuf import duration_pb2

from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc


def main(address: str, key: str, ttl: int, wait: int) -> None:
    stub = lock_pb2_grpc.LockServiceStub(grpc.insecure_channel(address))
    resp = stub.Acquire(pb.AcquireRequest(key=key, owner="doomed", ttl=duration_pb2.Duration(
        seconds=ttl), wait=duration_pb2.Duration(seconds=wait)), timeout=wait + 10)
    print(resp.lease.fencing_token, flush=True)
    while True:
        stub.KeepAlive(pb.KeepAliveRequest(lease_token=resp.lease.lease_token), timeout=5)
        time.sleep(0.3)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if sys.argv[4:] else 0)
