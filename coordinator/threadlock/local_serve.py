"""Wait for a `threadlock serve` process started on this machine (by the tests, `threadlock
stress` or bench/) to answer gRPC health SERVING, i.e. to be connected to its store."""

from __future__ import annotations

import contextlib
import subprocess
import time
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def wait_serving(address: str, proc: subprocess.Popen[Any], timeout: float = 30.0,
                 credentials: grpc.ChannelCredentials | None = None) -> None:
    """Return once `address` answers SERVING; RuntimeError if `proc` exits first or `timeout`
    seconds pass (the caller adds the log)."""
    channel = (grpc.secure_channel(address, credentials) if credentials
               else grpc.insecure_channel(address))
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if proc.poll() is not None:
                raise RuntimeError(f"threadlock serve exited with code {proc.returncode}")
            with contextlib.suppress(grpc.RpcError):
                resp = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                if resp.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            time.sleep(0.05)
    raise RuntimeError(f"threadlock serve at {address} not SERVING within {timeout:g} s")
