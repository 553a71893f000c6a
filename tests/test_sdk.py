"""The Python SDK (clients/python) against real coordinator processes, both backends, both
faces: the sync LockClient (renewing in a thread) and the async AsyncLockClient (in a task)
run the very same tests through tests/sdk_faces.py."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from etcd_server import free_port
from harness import eventually, serve_process
from sdk_faces import Face

from threadlock_client import (
    InvalidArgument,
    LeaseLost,
    LockClient,
    ThreadBusy,
    Unavailable,
)


@pytest_asyncio.fixture(params=["sync", "async"])
async def face(request: pytest.FixtureRequest, served: str) -> AsyncIterator[Face]:
    f = Face(request.param, served, owner="sdk-test")
    yield f
    await f.close()


def _key() -> str:
    return f"conv_{uuid.uuid4().hex[:10]}"


async def test_hold_grants_and_releases_on_every_exit_path(face: Face) -> None:
    key = _key()
    async with face.hold(key, ttl=10) as lease:
        assert lease.fencing_token > 0 and not lease.lost
        [state] = await face.status(key)
        assert state.holder.owner == "sdk-test"
    assert await face.status(key) == []
    with pytest.raises(RuntimeError, match="boom"):
        async with face.hold(key, ttl=10):
            raise RuntimeError("boom")
    assert await face.status(key) == []  # released although the block failed


async def test_busy_raises_thread_busy_with_a_readable_message(face: Face) -> None:
    key = _key()
    async with face.hold(key, ttl=10, metadata={"run_id": "run_1"}) as held:
        with pytest.raises(ThreadBusy) as caught:
            async with face.hold(key, ttl=10, owner="second"):
                raise AssertionError("a busy key must not run the block")
    busy = caught.value
    assert busy.key == key and busy.holder == "sdk-test"
    assert busy.fencing_token == held.fencing_token and busy.metadata == {"run_id": "run_1"}
    assert busy.holder_since is not None and busy.holder_until is not None
    assert key in busy.message and "busy" in busy.message and "sdk-test" in busy.message


async def test_a_waiter_gets_the_key_when_the_holder_leaves(face: Face) -> None:
    key = _key()
    first = await face.acquire(key, ttl=10)
    order: list[str] = []

    async def second() -> int:
        async with face.hold(key, ttl=10, wait=30, owner="second") as lease:
            order.append("second")
            return int(lease.fencing_token)

    task = asyncio.create_task(second())
    await eventually(lambda: _queued(face, key))
    order.append("first released")
    assert await first.release()
    assert await task > first.fencing_token
    assert order == ["first released", "second"]


async def _queued(face: Face, key: str) -> bool:
    return bool((await face.status(key))[0].waiters)


async def test_background_renewal_keeps_the_lock_past_its_ttl(face: Face) -> None:
    key = _key()
    async with face.hold(key, ttl=2) as lease:
        await asyncio.sleep(5)  # 2.5 TTLs: only renewals keep it
        lease.check()
        [state] = await face.status(key)
        assert state.holder.fencing_token == lease.fencing_token


async def test_a_lost_lease_is_observable_and_raises_lease_lost(face: Face) -> None:
    key = _key()
    with pytest.raises(LeaseLost) as caught:
        async with face.hold(key, ttl=2) as lease:
            thief = LockClient(face.sync.settings.addresses if face.sync else
                               face.aio.settings.addresses if face.aio else ())
            try:  # someone releases our lease behind our back: the next renewal is refused
                await asyncio.to_thread(lambda: thief.run(_release(thief, lease.lease_token)))
            finally:
                thief.close()
            assert await lease.wait_lost(15)
            assert lease.lost
            with pytest.raises(LeaseLost):
                lease.check()
    assert caught.value.key == key and "refused" in caught.value.reason


def _release(client: LockClient, token: str):  # type: ignore[no-untyped-def]
    from threadlock_client import _protocol as proto
    return proto.release(client._targets, token, 5)


async def test_annotate_shows_in_status(face: Face) -> None:
    key = _key()
    async with face.hold(key, ttl=10, metadata={"worker": "w1"}) as lease:
        await lease.annotate(response_id="resp_1")
        [state] = await face.status(key)
        assert dict(state.holder.metadata) == {"worker": "w1", "response_id": "resp_1"}


async def test_request_id_makes_acquire_safe_to_repeat(face: Face) -> None:
    key = _key()
    a = await face.acquire(key, ttl=10, request_id="req-1")
    b = await face.acquire(key, ttl=10, request_id="req-1")
    assert a.fencing_token == b.fencing_token and a.lease_token == b.lease_token
    assert await a.release()


async def test_bad_input_names_the_field(face: Face) -> None:
    with pytest.raises(ValueError, match="ttl"):
        async with face.hold(_key(), ttl=0):
            pass
    with pytest.raises(InvalidArgument) as caught:
        async with face.hold("k" * 600, ttl=10):
            pass
    assert caught.value.field == "key"
    with pytest.raises(ValueError, match="owner"):  # blank is a mistake, not "use host:pid"
        async with face.hold(_key(), ttl=10, owner=" "):
            pass
    with pytest.raises(ValueError, match="owner"):
        Face(face.kind, "127.0.0.1:1", owner="")


async def test_expires_at_is_the_sdks_conservative_expiry(face: Face) -> None:
    before = time.time()
    async with face.hold(_key(), ttl=10) as lease:
        first = lease.expires_at.timestamp()
        # Never later than the coordinator's TTL from now, and at least half of it left.
        assert before + 5 <= first <= time.time() + 10
        await lease.annotate(step="1")  # a renewal moves it on, never back
        assert lease.expires_at.timestamp() >= first - 0.05


async def test_sessions_hold_many_locks_on_one_lease(served: str) -> None:
    for kind in ("sync", "async"):
        f = Face(kind, served, use_session=True, session_ttl=2)
        keys = [_key() for _ in range(5)]
        leases = [await f.acquire(k, ttl=30) for k in keys]
        assert len({lease.session_id for lease in leases}) == 1 and leases[0].session_id
        await asyncio.sleep(5)  # 2.5 session TTLs: one session renewal keeps all five
        for k, lease in zip(keys, leases, strict=True):
            lease.check()
            assert (await f.status(k))[0].holder.fencing_token == lease.fencing_token
        await f.close()  # closes the session: every lock is free at once
        probe = Face(kind, served)
        assert [await probe.status(k) for k in keys] == [[]] * 5
        await probe.close()


async def test_failover_to_the_next_address(served: str) -> None:
    dead = f"127.0.0.1:{free_port()}"
    for kind in ("sync", "async"):
        f = Face(kind, [dead, served], call_timeout=15)
        async with f.hold(_key(), ttl=10) as lease:
            assert lease.fencing_token > 0
        await f.close()


async def test_no_coordinator_fails_unavailable_within_the_budget() -> None:
    dead = f"127.0.0.1:{free_port()}"
    for kind in ("sync", "async"):
        f = Face(kind, dead, call_timeout=2)
        started = time.monotonic()
        with pytest.raises(Unavailable):
            async with f.hold(_key(), ttl=10):
                pass
        assert time.monotonic() - started < 15  # bounded: never hangs
        await f.close()


async def test_coordinator_gone_past_the_ttl_means_lease_lost(tmp_path: Path) -> None:
    for kind in ("sync", "async"):
        proc, address = serve_process({}, tmp_path / f"{kind}.log")
        f = Face(kind, address, call_timeout=1)
        try:
            lease = await f.acquire(_key(), ttl=2)
            os.kill(proc.pid, signal.SIGKILL)  # renewals can't get through any more
            assert await lease.wait_lost(20)
            with pytest.raises(LeaseLost, match="TTL"):
                lease.check()
        finally:
            proc.kill()
            proc.wait()
            await f.close()


async def test_cancel_on_loss_interrupts_the_block(served: str) -> None:
    f = Face("async", served)
    assert f.aio is not None
    with pytest.raises(LeaseLost):
        async with f.aio.hold(_key(), ttl=2, cancel_on_loss=True) as lease:
            thief = f.aio  # release our own token behind the lease's back
            from threadlock_client import _protocol as proto
            await thief.run(proto.release(thief._targets, lease.lease_token, 5))
            await asyncio.sleep(60)  # cancelled by the loss, long before this ends
    await f.close()


def test_the_sdk_depends_on_grpc_and_protobuf_only() -> None:
    root = Path(__file__).resolve().parent.parent / "clients" / "python"
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert sorted(d.split(">")[0] for d in project["dependencies"]) == ["grpcio", "protobuf"]
    assert list(project["optional-dependencies"]) == ["openai", "otel"]
    # Tracing (_tracing.py) needs the OpenTelemetry API only, never its SDK or an exporter.
    assert [d.split(">")[0] for d in project["optional-dependencies"]["otel"]] == [
        "opentelemetry-api"]
    code = ("import sys, threadlock_client, threadlock_client.aio; "
            "bad = [m for m in sys.modules if m == 'threadlock' or m.startswith('threadlock.')]; "
            "assert not bad, bad")  # the coordinator's package never comes along
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=root)
