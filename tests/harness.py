"""Test harness: coordinators started in-process on free loopback ports, and small async
helpers that wait on events (never on sleeps tuned to one machine)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import grpc
import grpc.aio
from google.protobuf import duration_pb2

from threadlock import local_serve
from threadlock.config import Config
from threadlock.local_etcd import free_port
from threadlock.server import Server
from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc

T = TypeVar("T")


def dur(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(seconds * 1e9))
    return d


class Coordinator:
    """One replica: a real Server (health, reflection, the lock service) on 127.0.0.1:0.
    `channel_credentials` makes `channel` a TLS channel (for a server with `config.tls`)."""

    def __init__(self, config: Config,
                 channel_credentials: grpc.ChannelCredentials | None = None) -> None:
        self.config = config
        self.channel_credentials = channel_credentials
        self.server = Server(config)
        self.address = ""
        self.channel: grpc.aio.Channel | None = None
        self.stub: lock_pb2_grpc.LockServiceStub

    async def start(self) -> Coordinator:
        port = await self.server.start()
        self.address = f"127.0.0.1:{port}"
        self.channel = (grpc.aio.insecure_channel(self.address)
                        if self.channel_credentials is None
                        else grpc.aio.secure_channel(self.address, self.channel_credentials))
        self.stub = lock_pb2_grpc.LockServiceStub(self.channel)
        return self

    async def stop(self) -> None:
        if self.channel is not None:
            await self.channel.close()
        await self.server.stop(0)

    # Shorthands for the common calls; every call carries a deadline.
    async def acquire(self, key: str, owner: str, ttl: float = 10, wait: float = 0,
                      timeout: float = 30, **kw: object) -> pb.AcquireResponse:
        req = pb.AcquireRequest(key=key, owner=owner, wait=dur(wait), **kw)  # type: ignore[arg-type]
        if ttl and not kw.get("session_id"):
            req.ttl.CopyFrom(dur(ttl))
        resp: pb.AcquireResponse = await self.stub.Acquire(req, timeout=timeout)
        return resp

    async def lease(self, key: str, owner: str, **kw: object) -> pb.Lease:
        """Acquire that must be granted."""
        resp = await self.acquire(key, owner, **kw)  # type: ignore[arg-type]
        assert resp.WhichOneof("result") == "lease", resp
        return resp.lease

    async def release(self, token: str) -> bool:
        resp = await self.stub.Release(pb.ReleaseRequest(lease_token=token), timeout=10)
        return bool(resp.released)

    async def status(self, key: str | None = None, prefix: str = "") -> list[pb.LockState]:
        req = pb.StatusRequest(key=key) if key is not None else pb.StatusRequest(prefix=prefix)
        resp = await self.stub.Status(req, timeout=10)
        return list(resp.locks)

    async def waiters(self, key: str) -> list[str]:
        locks = await self.status(key)
        return [w.owner for w in locks[0].waiters] if locks else []


def memory_config() -> Config:
    return dataclasses.replace(Config(), listen="127.0.0.1:0", log_format="text")


def etcd_config(endpoint: str, prefix: str) -> Config:
    return dataclasses.replace(memory_config(), etcd_endpoints=[endpoint], key_prefix=prefix)


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 15.0,
                     interval: float = 0.02) -> T:
    """Poll `check` until it returns a truthy value; fail after a generous `timeout`."""
    end = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        await asyncio.sleep(interval)


async def rpc_error(call: Awaitable[object]) -> grpc.aio.AioRpcError:
    """The gRPC error `call` fails with (fails the test if it succeeds)."""
    try:
        result = await call
    except grpc.aio.AioRpcError as exc:
        return exc
    raise AssertionError(f"expected a gRPC error, got {result!r}")


# gRPC address of each `serve_process` -> host:port of its HTTP/JSON (Connect) face, for clients
# that speak HTTP (the PHP SDK's conformance adapter: sdk_adapters.Adapter.http).
HTTP_FACES: dict[str, str] = {}


def http_face(address: str) -> str:
    """The HTTP face of the coordinator serving gRPC at `address` (an address no
    serve_process started, e.g. a dead one, stays as it is)."""
    return HTTP_FACES.get(address, address)


def serve_process(extra_env: dict[str, str], log: Path,
                  credentials: grpc.ChannelCredentials | None = None
                  ) -> tuple[subprocess.Popen[str], str]:
    """A `threadlock serve` process on a free loopback port, once it answers SERVING
    (`credentials` when it serves TLS). It serves its HTTP face too (see `http_face`)."""
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "THREADLOCK_LISTEN": address, "THREADLOCK_SHUTDOWN_GRACE": "5",
           "THREADLOCK_HTTP_LISTEN": f"127.0.0.1:{free_port()}", **extra_env}
    HTTP_FACES[address] = env["THREADLOCK_HTTP_LISTEN"]
    proc = subprocess.Popen([sys.executable, "-m", "threadlock", "serve"], env=env, text=True,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    wait_serving(address, proc, credentials)
    return proc, address


def wait_serving(address: str, proc: subprocess.Popen[str],
                 credentials: grpc.ChannelCredentials | None = None,
                 timeout: float = 30.0) -> None:
    """Block until the `threadlock serve` process `proc` answers health SERVING."""
    try:
        local_serve.wait_serving(address, proc, timeout, credentials)
    except RuntimeError as exc:
        raise AssertionError(str(exc)) from None
