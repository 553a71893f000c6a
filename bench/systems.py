"""One lock cycle per system, all driven by the same load generator (loadgen.py):

- ``coordinator``: Acquire(key, ttl 10 s, wait 0) -> Release, each lock on its own lease (what
  the coordinator does per call: lease grant + txn, then release txn + lease revoke).
- ``coordinator-session``: the same under one session per client (OpenSession once, renewed
  every ttl/3 as the SDK does): no lease per lock.
- ``sdk-unary`` / ``sdk-stream``: the Python SDK's own cycle (``AsyncLockClient.acquire`` ->
  ``lease.release()``, own lease, the lease renewed by its task while held), one client object
  per load-generator client, with ``transport="unary"`` (one RPC per call) and with
  ``transport="stream"`` (the default: calls as messages on one LockService.Stream per
  client). The SDK's channels are its own (gRPC's global subchannel pool: clients of one
  address share a connection, as the SDK's users get).
- ``etcd-v3lock``: etcd's own lock API as its users drive it (``etcdctl lock``, the Go
  concurrency package): LeaseGrant -> v3lock Lock(name, lease) -> Unlock(key) -> LeaseRevoke.
- ``etcd-raw``: the practical ceiling on etcd: Txn[create_revision(key) == 0 -> put key on a
  lease granted once per client] + DeleteRange. Two writes, nothing else.
- ``redis``: ``SET key token NX PX 10000`` + compare-and-delete Lua script (the usual Redis
  lock, seed 003's proposal), on a local redis-server without persistence.

Every client has its own connection (gRPC: a local subchannel pool, so no two clients share a
TCP connection) and its own key, like independent worker processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
from google.protobuf import duration_pb2

from bench.loadgen import Cycle, OpenCycle
from threadlock.internal.etcd import rpc_pb2, rpc_pb2_grpc, v3lock_pb2, v3lock_pb2_grpc
from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc

CALL_TIMEOUT = 10.0
LOCK_TTL = 10  # seconds: every system's lock expires 10 s after a crash
SESSION_TTL = 30
RAW_LEASE_TTL = 600  # one lease per raw client for the whole point, revoked at its end
CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1)]

RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""

SYSTEMS = ("coordinator", "coordinator-session", "sdk-unary", "sdk-stream", "etcd-v3lock",
           "etcd-raw", "redis")
# The coordinator variants, compared with the baselines (uncontended.ratios).
VARIANTS = ("coordinator", "coordinator-session", "sdk-unary", "sdk-stream")


class NotGranted(Exception):
    """A lock cycle found its own, distinct key taken: a bug in the bench or the system."""


def seconds(value: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(value * 1e9))
    return d


def channel(address: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)


@dataclass
class Target:
    """Where the systems listen, and a tag that keeps each point's keys apart."""

    coordinator: str
    etcd: str
    redis_port: int
    tag: str


class _Coordinator:
    def __init__(self, address: str, key: str, session: bool) -> None:
        self.channel = channel(address)
        self.stub = lock_pb2_grpc.LockServiceStub(self.channel)
        self.key = key
        self.session_id = ""
        self.use_session = session
        self._keeper: asyncio.Task[None] | None = None

    async def open(self) -> _Coordinator:
        if self.use_session:
            resp = await self.stub.OpenSession(pb.OpenSessionRequest(
                owner="bench", ttl=seconds(SESSION_TTL)), timeout=CALL_TIMEOUT)
            self.session_id = resp.session_id
            self._keeper = asyncio.create_task(self._keep())
        return self

    async def _keep(self) -> None:
        for _ in range(1_000_000):  # until close() cancels it
            await asyncio.sleep(SESSION_TTL / 3)
            await self.stub.KeepAlive(pb.KeepAliveRequest(session_id=self.session_id),
                                      timeout=CALL_TIMEOUT)

    async def once(self) -> None:
        req = pb.AcquireRequest(key=self.key, owner="bench", wait=seconds(0))
        if self.session_id:
            req.session_id = self.session_id
        else:
            req.ttl.CopyFrom(seconds(LOCK_TTL))
        resp = await self.stub.Acquire(req, timeout=CALL_TIMEOUT)
        if resp.WhichOneof("result") != "lease":
            raise NotGranted(f"{self.key}: {resp}")
        await self.stub.Release(pb.ReleaseRequest(lease_token=resp.lease.lease_token),
                                timeout=CALL_TIMEOUT)

    async def close(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(BaseException):
                await self._keeper
        if self.session_id:
            with contextlib.suppress(grpc.aio.AioRpcError):
                await self.stub.CloseSession(pb.CloseSessionRequest(session_id=self.session_id),
                                             timeout=CALL_TIMEOUT)
        await self.channel.close()


class _Sdk:
    def __init__(self, address: str, key: str, transport: str) -> None:
        from threadlock_client.aio import AsyncLockClient

        self.client = AsyncLockClient(address, owner="bench", call_timeout=CALL_TIMEOUT,
                                      transport=transport)
        self.key = key

    async def open(self) -> _Sdk:
        # Connect (and open the stream) before the window, as the other systems' clients
        # are connected when their first cycle starts.
        await self.client.status(self.key)
        return self

    async def once(self) -> None:
        lease = await self.client.acquire(self.key, ttl=LOCK_TTL)
        if not await lease.release():
            raise NotGranted(f"{self.key}: the release found the lock gone")

    async def close(self) -> None:
        await self.client.close()


class _V3Lock:
    def __init__(self, endpoint: str, name: bytes) -> None:
        self.channel = channel(endpoint)
        self.lease = rpc_pb2_grpc.LeaseStub(self.channel)
        self.lock = v3lock_pb2_grpc.LockStub(self.channel)
        self.name = name

    async def once(self) -> None:
        lease = await self.lease.LeaseGrant(rpc_pb2.LeaseGrantRequest(TTL=LOCK_TTL),
                                            timeout=CALL_TIMEOUT)
        got = await self.lock.Lock(v3lock_pb2.LockRequest(name=self.name, lease=lease.ID),
                                   timeout=CALL_TIMEOUT)
        await self.lock.Unlock(v3lock_pb2.UnlockRequest(key=got.key), timeout=CALL_TIMEOUT)
        await self.lease.LeaseRevoke(rpc_pb2.LeaseRevokeRequest(ID=lease.ID),
                                     timeout=CALL_TIMEOUT)

    async def close(self) -> None:
        await self.channel.close()


CMP = rpc_pb2.Compare


class _Raw:
    def __init__(self, endpoint: str, key: bytes) -> None:
        self.channel = channel(endpoint)
        self.kv = rpc_pb2_grpc.KVStub(self.channel)
        self.leases = rpc_pb2_grpc.LeaseStub(self.channel)
        self.key = key
        self.lease_id = 0

    async def open(self) -> _Raw:
        resp = await self.leases.LeaseGrant(rpc_pb2.LeaseGrantRequest(TTL=RAW_LEASE_TTL),
                                            timeout=CALL_TIMEOUT)
        self.lease_id = resp.ID
        return self

    async def once(self) -> None:
        resp = await self.kv.Txn(rpc_pb2.TxnRequest(
            compare=[CMP(result=CMP.EQUAL, target=CMP.CREATE, key=self.key, create_revision=0)],
            success=[rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(
                key=self.key, value=b"bench", lease=self.lease_id))]), timeout=CALL_TIMEOUT)
        if not resp.succeeded:
            raise NotGranted(self.key.decode())
        await self.kv.DeleteRange(rpc_pb2.DeleteRangeRequest(key=self.key),
                                  timeout=CALL_TIMEOUT)

    async def close(self) -> None:
        with contextlib.suppress(grpc.aio.AioRpcError):
            await self.leases.LeaseRevoke(rpc_pb2.LeaseRevokeRequest(ID=self.lease_id),
                                          timeout=CALL_TIMEOUT)
        await self.channel.close()


class _Redis:
    def __init__(self, port: int, key: str) -> None:
        import redis.asyncio as aredis  # optional dependency: only when Redis runs

        self.client: Any = aredis.Redis(host="127.0.0.1", port=port,
                                        single_connection_client=True,
                                        socket_timeout=CALL_TIMEOUT)
        self.release = self.client.register_script(RELEASE_SCRIPT)
        self.key = key
        self.counter = itertools.count()
        self.prefix = uuid.uuid4().hex[:8]

    async def once(self) -> None:
        token = f"{self.prefix}-{next(self.counter)}"
        if not await self.client.set(self.key, token, nx=True, px=LOCK_TTL * 1000):
            raise NotGranted(self.key)
        if await self.release(keys=[self.key], args=[token]) != 1:
            raise NotGranted(f"{self.key}: release found another token")

    async def close(self) -> None:
        await self.client.aclose()


def opener(system: str, target: Target) -> OpenCycle:
    """A function that connects client number i of `system` to its own key."""

    async def open_cycle(i: int) -> Cycle:
        key = f"{target.tag}-{i}"
        if system == "coordinator":
            return await _Coordinator(target.coordinator, key, session=False).open()
        if system == "coordinator-session":
            return await _Coordinator(target.coordinator, key, session=True).open()
        if system in ("sdk-unary", "sdk-stream"):
            return await _Sdk(target.coordinator, key, system.removeprefix("sdk-")).open()
        if system == "etcd-v3lock":
            return _V3Lock(target.etcd, f"/v3lock/{key}".encode())
        if system == "etcd-raw":
            return await _Raw(target.etcd, f"/raw/{key}".encode()).open()
        if system == "redis":
            return _Redis(target.redis_port, key)
        raise ValueError(f"unknown system {system!r}")

    return open_cycle
