"""The SDK when things go wrong around it: a hung coordinator address, a release that cannot
get through, a lease taken away just before the block ends, an Acquire whose answer was lost.
Coordinators here are processes of their own that the tests freeze (SIGSTOP) or stop."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from certs import make_pki
from harness import eventually, serve_process
from sdk_faces import Face

from threadlock_client import LeaseLost, LockClient, Tls, Unavailable
from threadlock_client import _protocol as proto


def _key() -> str:
    return f"conv_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def frozen(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A coordinator process the test may SIGSTOP; always resumed and killed afterwards."""
    proc, address = serve_process({}, tmp_path / "frozen.log")
    yield proc, address
    os.kill(proc.pid, signal.SIGCONT)
    proc.kill()
    proc.wait()


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_hung_address_is_failed_over_within_the_budget(
        kind: str, served: str, frozen: tuple[subprocess.Popen[str], str]) -> None:
    proc, hung = frozen
    os.kill(proc.pid, signal.SIGSTOP)  # accepts connections, answers nothing
    f = Face(kind, [hung, served], call_timeout=8)
    try:
        async with f.hold(_key(), ttl=10) as lease:  # the first attempt gets half the budget
            assert lease.fencing_token > 0
    finally:
        await f.close()


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_session_lock_whose_release_failed_is_released_in_the_background(
        kind: str, frozen: tuple[subprocess.Popen[str], str]) -> None:
    proc, address = frozen
    f = Face(kind, address, use_session=True, session_ttl=30, release_timeout=1)
    probe = Face("async", address)
    key = _key()
    try:
        lease = await f.acquire(key, ttl=30)
        os.kill(proc.pid, signal.SIGSTOP)
        with pytest.raises(Exception):  # noqa: B017 - Unavailable, from either face
            await lease.release()
        assert lease.lost  # no longer renewed or trusted
        os.kill(proc.pid, signal.SIGCONT)
        # The session lives on (30 s TTL), yet the lock comes free: retried in the background.
        await eventually(lambda: _free(probe, key), timeout=30)
    finally:
        await probe.close()
        await f.close()


async def _free(face: Face, key: str) -> bool:
    return not await face.status(key)


async def test_a_release_that_finds_the_lock_gone_raises_lease_lost(served: str) -> None:
    for kind in ("sync", "async"):
        f = Face(kind, served, use_session=True)
        with pytest.raises(LeaseLost, match="no longer held"):
            async with f.hold(_key(), ttl=30) as lease:
                with LockClient(served) as thief:  # our session is ended behind our back
                    thief.run(proto.close_session(thief._targets, lease.session_id, 5))
                # the block ends before any renewal could notice: the release finds out
        assert await lease.wait_lost(0) is True
        await f.close()


async def test_wait_lost_answers_at_once_after_a_release(served: str) -> None:
    for kind in ("sync", "async"):
        f = Face(kind, served)
        lease = await f.acquire(_key(), ttl=30)
        assert await lease.release()
        assert await asyncio.wait_for(lease.wait_lost(None), 5) is False
        await f.close()


def test_an_acquire_whose_answer_was_lost_is_cleaned_up_by_its_request_id(
        served: str) -> None:
    with LockClient(served, owner="lost-answer") as client:
        key = _key()
        spec = proto.HoldSpec(key, "lost-answer", 30, 0)
        client.run(proto.acquire(client._targets, spec, 5))  # granted; pretend we never knew
        assert client.status(key)
        client.run(proto.abandon(client._targets, spec, 5))  # what acquire() does on failure
        assert client.status(key) == []


async def test_a_cancelled_queued_acquire_leaves_nothing_behind(served: str) -> None:
    f = Face("async", served)
    key = _key()
    first = await f.acquire(key, ttl=30)
    assert f.aio is not None
    waiter = asyncio.ensure_future(f.aio.acquire(key, ttl=30, wait=30))
    await eventually(lambda: _waiters(f, key))
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert await first.release()
    await eventually(lambda: _free(f, key))  # neither a slot nor a grant was left
    await f.close()


async def _no_waiters(face: Face, key: str) -> bool:
    return not await _waiters(face, key)


async def _waiters(face: Face, key: str) -> bool:
    states = await face.status(key)
    return bool(states and states[0].waiters)


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_the_sdk_speaks_mutual_tls(kind: str, tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    env = {"THREADLOCK_TLS_CERT": str(pki.server.cert), "THREADLOCK_TLS_KEY": str(pki.server.key),
           "THREADLOCK_TLS_CLIENT_CA": str(pki.client.ca)}
    creds = grpc.ssl_channel_credentials(pki.server.ca.read_bytes(), pki.client.key.read_bytes(),
                                         pki.client.cert.read_bytes())
    proc, address = serve_process(env, tmp_path / "tls.log", creds)
    try:
        good = Face(kind, address, tls=Tls(ca=str(pki.server.ca), cert=str(pki.client.cert),
                                            key=str(pki.client.key)))
        async with good.hold(_key(), ttl=10) as lease:
            assert lease.fencing_token > 0
        await good.close()
        anonymous = Face(kind, address, tls=Tls(ca=str(pki.server.ca)), call_timeout=2)
        with pytest.raises(Unavailable):  # no client certificate: refused
            async with anonymous.hold(_key(), ttl=10):
                pass
        await anonymous.close()
    finally:
        proc.kill()
        proc.wait()


async def test_only_the_sdks_own_request_ids_are_cleaned_up_after_no_answer(
        served: str) -> None:
    """An Acquire cancelled before its answer is cleaned up (try-once with its request_id,
    release what was granted) only if the SDK made the request_id up: the caller's own id is
    the caller's to retry, and a cleanup could release the grant that retry gets."""
    key, request_id = _key(), f"req-{uuid.uuid4().hex}"
    f = Face("async", served)
    assert f.aio is not None
    holder = await f.acquire(key, ttl=30)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(f.aio.acquire(key, ttl=30, wait=20, request_id=request_id), 0.5)
    assert not f.aio._tasks  # no cleanup of the caller's request_id
    # The coordinator gives the cancelled attempt's slot up; retry once it has (a retry that
    # races that clean-up may be answered ABORTED, see the proto on Acquire retries).
    await eventually(lambda: _no_waiters(f, key))
    retry = asyncio.ensure_future(f.aio.acquire(key, ttl=30, wait=20, request_id=request_id))
    await eventually(lambda: _waiters(f, key))
    await holder.release()
    lease = await retry
    [state] = await f.status(key)
    assert state.holder.fencing_token == lease.fencing_token and not lease.lost
    with pytest.raises(TimeoutError):  # the SDK's own request_id: cleaned up in background
        await asyncio.wait_for(f.aio.acquire(key, ttl=30, wait=20), 0.5)
    assert f.aio._tasks
    await lease.release()
    await f.close()
