"""The Python SDK's stream transport (threadlock_client/_stream.py), the default: every call of
a client goes over one LockService.Stream per address (the unary stubs are taken away here to
prove it), a cancelled caller takes its queued Acquire out of the queue at once, a stream that
breaks under a queued Acquire is retried on another replica with the same request_id, the
per-stream limit opens a second stream, and `transport="unary"` still works. Both backends; the
SDK suites (tests/test_sdk*.py, guard tests) run on this transport as well, it being the
default."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc
import pytest
from harness import Coordinator, etcd_config, eventually

from threadlock_client import LockClient, PermissionDenied, ThreadBusy
from threadlock_client import _stream as stream_mod
from threadlock_client.aio import AsyncLockClient


def _key() -> str:
    return f"conv_{uuid.uuid4().hex[:10]}"


class _NoUnary:
    """Stands in for a stub: Stream passes, any unary call is a test failure."""

    def __init__(self, stub: Any) -> None:
        self.Stream = stub.Stream

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unary {name} called on the stream transport")


def stream_only(client: AsyncLockClient | LockClient) -> None:
    transport: Any = client._transport
    transport._stubs = [_NoUnary(s) for s in transport._stubs]


async def _waiting(coord: Coordinator, key: str, owners: list[str]) -> bool:
    return await coord.waiters(key) == owners


async def test_async_client_runs_every_call_on_one_stream(coord: Coordinator) -> None:
    async with AsyncLockClient(coord.address, owner="s1") as client:
        stream_only(client)
        key = _key()
        async with client.hold(key, ttl=10) as lease:
            await lease.annotate(run_id="run_1")
            states = await client.status(key)
            assert states[0].holder.metadata == {"run_id": "run_1"}
            with pytest.raises(ThreadBusy):
                await client.acquire(key, ttl=10)
        assert await client.status(key) == []
        leases = await asyncio.gather(*(client.acquire(_key(), ttl=10) for _ in range(20)))
        # 20 grants (fencing tokens of different keys may be equal: group commit, lock.proto)
        assert len({lease.lease_token for lease in leases}) == 20
        assert all(lease.fencing_token > 0 for lease in leases)
        assert all(await asyncio.gather(*(lease.release() for lease in leases)))
        streams = client._transport._streams[0]
        assert len(streams) == 1 and not streams[0].closed  # one stream carried it all


async def test_sync_client_runs_every_call_on_one_stream(coord: Coordinator) -> None:
    def work() -> None:
        with LockClient(coord.address, owner="s2", use_session=True) as client:
            stream_only(client)
            key = _key()
            with client.hold(key) as lease:
                lease.annotate(step="one")
                assert client.status(key)[0].holder.metadata == {"step": "one"}
            assert client.status(key) == []
            assert len(client._transport._streams[0]) == 1

    await asyncio.to_thread(work)


async def test_a_cancelled_caller_leaves_the_queue_at_once(coord: Coordinator) -> None:
    async with AsyncLockClient(coord.address, owner="s3") as client:
        key = _key()
        held = await coord.lease(key, "holder")
        waiter = asyncio.ensure_future(client.acquire(key, ttl=10, wait=60, owner="queued"))
        assert await eventually(lambda: _waiting(coord, key, ["queued"]), timeout=15)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert await eventually(lambda: _waiting(coord, key, []), timeout=5)
        assert await coord.release(held.lease_token)
        assert await eventually(lambda: _free(coord, key), timeout=15)  # no grant left over


async def _free(coord: Coordinator, key: str) -> bool:
    return await coord.status(key) == []


async def test_a_wait_shorter_than_the_call_is_busy_and_leaves_the_queue(
        coord: Coordinator) -> None:
    async with AsyncLockClient(coord.address, owner="s4") as client:
        key = _key()
        held = await coord.lease(key, "holder")
        with pytest.raises(ThreadBusy) as busy:
            await client.acquire(key, ttl=10, wait=1)
        assert busy.value.holder == "holder"
        assert await coord.waiters(key) == []
        assert await coord.release(held.lease_token)


async def test_a_broken_stream_is_retried_on_another_replica_with_its_request_id(
        etcd: Any, key_prefix: str, coordinators: list[Coordinator]) -> None:
    """Replica A dies under a queued Acquire: its stream breaks, A's slot goes with the call,
    and the SDK queues on B with the same request_id; B grants it when the holder releases."""
    config = etcd_config(etcd.endpoint, key_prefix)
    a, b = await Coordinator(config).start(), await Coordinator(config).start()
    coordinators.append(b)
    key = _key()
    held = await b.lease(key, "holder")
    async with AsyncLockClient([a.address, b.address], owner="failover") as client:
        task = asyncio.ensure_future(client.acquire(key, ttl=10, wait=60,
                                                    request_id="rid-failover"))
        assert await eventually(lambda: _waiting(b, key, ["failover"]), timeout=15)
        await a.stop()  # the stream to A breaks with the Acquire in flight
        assert await eventually(lambda: _waiting(b, key, ["failover"]), timeout=15)
        assert await b.release(held.lease_token)
        lease = await asyncio.wait_for(task, 30)
        assert lease.fencing_token > held.fencing_token
        states = await b.status(key)
        assert [s.holder.owner for s in states] == ["failover"] and not states[0].waiters
        assert await lease.release()


async def test_a_full_stream_opens_another(coord: Coordinator,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_mod, "MAX_CALLS", 2)
    async with AsyncLockClient(coord.address, owner="s5") as client:
        stream_only(client)
        key = _key()
        held = await coord.lease(key, "holder")
        waiters = [asyncio.ensure_future(client.acquire(key, ttl=10, wait=60, owner=f"q{i}"))
                   for i in range(3)]
        assert await eventually(lambda: _count_waiters(coord, key, 3), timeout=15)
        assert len(client._transport._streams[0]) == 2
        for w in waiters:
            w.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        assert await eventually(lambda: _waiting(coord, key, []), timeout=10)
        assert await coord.release(held.lease_token)


async def _count_waiters(coord: Coordinator, key: str, n: int) -> bool:
    return len(await coord.waiters(key)) == n


async def test_unary_transport_stays_an_option(coord: Coordinator) -> None:
    async with AsyncLockClient(coord.address, transport="unary") as client:
        async with client.hold(_key(), ttl=10) as lease:
            assert lease.fencing_token > 0
        assert client._transport._streams == [[]]  # no stream was opened
    with pytest.raises(ValueError, match=r"^transport: "):
        LockClient(coord.address, transport="udp")


async def test_viewer_is_refused_per_call_on_its_stream(tmp_path: Any, key_prefix: str,
                                                        etcd: Any) -> None:
    import dataclasses
    import hashlib

    from authkit import new_api_key, write_auth

    viewer, locker = new_api_key()[0], new_api_key()[0]
    path = write_auth(tmp_path / "auth.yaml", {"api_keys": [
        {"sha256": hashlib.sha256(viewer.encode()).hexdigest(), "tenant": "t",
         "role": "viewer"},
        {"sha256": hashlib.sha256(locker.encode()).hexdigest(), "tenant": "t",
         "role": "locker"}]})
    config = dataclasses.replace(etcd_config(etcd.endpoint, key_prefix), auth_file=str(path))
    c = await Coordinator(config).start()
    try:
        key = _key()
        async with AsyncLockClient(c.address, api_key=locker) as lk, \
                AsyncLockClient(c.address, api_key=viewer) as vw:
            stream_only(lk)
            stream_only(vw)
            async with lk.hold(key, ttl=10):
                assert [s.key for s in await vw.status()] == [key]  # Status: allowed
                with pytest.raises(PermissionDenied):
                    await vw.acquire(_key(), ttl=10)  # Acquire: refused, on the same stream
                assert [s.key for s in await vw.status()] == [key]
    finally:
        await c.stop()


def test_stream_break_codes_map_to_retryable_or_final() -> None:
    """A stream that ends is UNAVAILABLE for its calls (retried by the flows), except a
    refusal of the stream itself, which every call shares."""
    assert stream_mod.broke(grpc.StatusCode.CANCELLED, "x").code == grpc.StatusCode.UNAVAILABLE
    assert stream_mod.broke(None, "x").code == grpc.StatusCode.UNAVAILABLE
    assert stream_mod.broke(grpc.StatusCode.UNAUTHENTICATED, "x").code == \
        grpc.StatusCode.UNAUTHENTICATED


async def test_a_replica_shutting_down_sends_new_calls_elsewhere(
        etcd: Any, key_prefix: str, coordinators: list[Coordinator]) -> None:
    """Replica A stops gracefully while a call of ours still runs there: our next call, on
    A's open stream, is answered UNAVAILABLE and goes to B; A's stream takes no more calls."""
    config = etcd_config(etcd.endpoint, key_prefix)
    a, b = await Coordinator(config).start(), await Coordinator(config).start()
    coordinators.extend([a, b])
    key = _key()
    held = await b.lease(key, "holder")
    async with AsyncLockClient([a.address, b.address], owner="moving") as client:
        queued = asyncio.ensure_future(client.acquire(key, ttl=10, wait=3))
        assert await eventually(lambda: _waiting(b, key, ["moving"]), timeout=15)
        stopping = asyncio.create_task(a.server.stop(20))  # the queued call keeps A in grace
        assert await eventually(lambda: _is(a.server._stopping), timeout=10)
        states = await client.status(key)  # A answers UNAVAILABLE, B answers
        assert [s.holder.owner for s in states] == ["holder"]
        assert all(s.closed for s in client._transport._streams[0])
        with pytest.raises(ThreadBusy):
            await queued  # its wait ran out on A, which finished it within the grace
        await stopping
    assert await b.release(held.lease_token)


async def _is(value: bool) -> bool:
    return value


async def test_a_rotated_token_file_moves_calls_to_a_new_stream(tmp_path: Any, etcd: Any,
                                                                 key_prefix: str) -> None:
    """The credential travels once, in the stream's metadata: when the token file changes,
    new calls go on a new stream with the new credential, and the old key can be revoked."""
    import dataclasses
    import hashlib

    from authkit import new_api_key, write_auth

    old, new = new_api_key()[0], new_api_key()[0]

    def entry(k: str) -> dict[str, str]:
        return {"sha256": hashlib.sha256(k.encode()).hexdigest(), "tenant": "t",
                "role": "locker"}

    path = write_auth(tmp_path / "auth.yaml", {"api_keys": [entry(old), entry(new)]})
    config = dataclasses.replace(etcd_config(etcd.endpoint, key_prefix), auth_file=str(path))
    c = await Coordinator(config).start()
    token = tmp_path / "token"
    token.write_text(old + "\n")
    try:
        async with AsyncLockClient(c.address, token_file=str(token)) as client:
            stream_only(client)
            assert await client.status() == []
            token.write_text(new + "\n" + " " * 8)  # another size: the change is seen at once
            write_auth(path, {"api_keys": [entry(new)]})  # the old key is revoked
            assert c.server.auth is not None
            c.server.auth.reloaded.clear()
            await eventually(lambda: _is(c.server.auth is not None
                                         and c.server.auth.reloaded.is_set()), timeout=30)
            async with client.hold(_key(), ttl=10) as lease:
                assert lease.fencing_token > 0
            streams = client._transport._streams[0]
            assert [s.header for s in streams if not s.closed] == [f"Bearer {new}"]
    finally:
        await c.stop()


class _SyncRefusedFirst(stream_mod._SyncStream):
    """A stream the coordinator has refused before the call that opened it is sent: what a
    loaded machine does when the reader thread and the coordinator run ahead of the caller
    (CI saw it: UNAVAILABLE "closed before the call" on every retry instead of the refusal)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reader.join(10)


class _AsyncRefusedFirst(stream_mod._AsyncStream):
    async def call(self, op: Any, metadata: Any = None) -> Any:
        await asyncio.wait({self._reader}, timeout=10)
        return await super().call(op, metadata)


async def test_a_call_that_comes_after_its_stream_was_refused_gets_the_refusal(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses
    import hashlib

    from authkit import new_api_key, write_auth
    from harness import memory_config

    from threadlock_client import Unauthenticated
    known, unknown = new_api_key()[0], new_api_key()[0]
    path = write_auth(tmp_path / "auth.yaml", {"api_keys": [
        {"sha256": hashlib.sha256(known.encode()).hexdigest(), "tenant": "t",
         "role": "locker"}]})
    c = await Coordinator(dataclasses.replace(memory_config(), auth_file=str(path))).start()
    monkeypatch.setattr(stream_mod, "_SyncStream", _SyncRefusedFirst)
    monkeypatch.setattr(stream_mod, "_AsyncStream", _AsyncRefusedFirst)

    def sync_status() -> None:
        with LockClient(c.address, api_key=unknown, call_timeout=5) as client:
            client.status()

    try:
        with pytest.raises(Unauthenticated):  # not Unavailable once the 5 s have run out
            await asyncio.to_thread(sync_status)
        async with AsyncLockClient(c.address, api_key=unknown, call_timeout=5) as client:
            with pytest.raises(Unauthenticated):
                await client.status()
            assert all(s.refused is not None for s in client._transport._streams[0])
    finally:
        await c.stop()
