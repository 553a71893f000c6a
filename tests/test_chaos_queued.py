"""The SDK absorbs a queued lease that expired while waiting (issue 14).

Provoked for real: the waiter queues through replica A only, the holder holds through replica
B; A (the process that keeps the queued lease alive in etcd) is SIGSTOPped for longer than the
TTL, so the queued lease expires in etcd and A, once resumed, answers ABORTED ("the queued
lease ... expired while waiting; acquire again with a new request_id"). The SDK must queue
again with a new request_id inside the caller's `wait`: the caller gets the lock, never
`Conflict`. A caller's own request_id is the caller's to retry: it does get `Conflict`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from etcd_server import EtcdServer
from harness import serve_process

from threadlock_client import LockClient, errors

TTL = 2.0
PAUSE = 3 * TTL  # A is stopped this long: well past the queued lease's TTL
Replicas = list[tuple[subprocess.Popen[str], str]]


@pytest.fixture
def replicas(etcd: EtcdServer, tmp_path: Path) -> Iterator[Replicas]:
    """Two `threadlock serve` replicas on one etcd and one key prefix."""
    env = {"THREADLOCK_ETCD_ENDPOINTS": etcd.endpoint,
           "THREADLOCK_KEY_PREFIX": f"/tl-chaosq/{uuid.uuid4().hex[:8]}/"}
    started = [serve_process(env, tmp_path / f"serve-{i}.log") for i in range(2)]
    yield started
    for proc, _ in started:
        os.kill(proc.pid, signal.SIGCONT)  # never leave a stopped process behind
        proc.terminate()
        proc.wait(timeout=30)


def _queued(client: LockClient, key: str) -> bool:
    states = client.status(key)
    return bool(states and states[0].waiters)


def _wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"not reached in {timeout} s")


def _run_waiter(address: str, key: str, request_id: str,
                out: dict[str, object]) -> threading.Thread:
    def run() -> None:
        with LockClient([address]) as client:
            try:
                lease = client.acquire(key, ttl=TTL, wait=60.0, request_id=request_id)
            except Exception as exc:  # recorded for the assertions below
                out["error"] = exc
                return
            out["fencing"] = lease.fencing_token
            out["got_at"] = time.monotonic()
            lease.release()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _pause_server_of_queued_waiter(replicas: Replicas, key: str,
                                   request_id: str) -> tuple[int, float, dict[str, object]]:
    """Hold `key` through B, queue a waiter through A, stop A past the TTL, resume it, release.
    Returns (holder's fencing token, when it released, the waiter's outcome)."""
    (proc_a, addr_a), (_, addr_b) = replicas
    out: dict[str, object] = {}
    with LockClient([addr_b]) as holder_client:
        lease = holder_client.acquire(key, ttl=TTL, wait=0)
        thread = _run_waiter(addr_a, key, request_id, out)
        _wait_for(lambda: _queued(holder_client, key))
        os.kill(proc_a.pid, signal.SIGSTOP)
        try:
            time.sleep(PAUSE)  # the fault itself: A keeps nothing alive meanwhile
            assert not _queued(holder_client, key), "the queued lease outlived its TTL"
        finally:
            os.kill(proc_a.pid, signal.SIGCONT)
        time.sleep(TTL)  # A answers the first request_id meanwhile; B still holds
        lease.check()  # the holder kept its lease through B all along
        released_at = time.monotonic()
        holder_fencing = lease.fencing_token
        lease.release()
        thread.join(timeout=60)
        assert not thread.is_alive(), "the waiter's acquire hung"
    return holder_fencing, released_at, out


def test_sdk_queues_again_when_its_queued_lease_expired(replicas: Replicas) -> None:
    key = f"conv_{uuid.uuid4().hex[:8]}"
    holder_fencing, released_at, out = _pause_server_of_queued_waiter(replicas, key, "")
    assert "error" not in out, f"the caller saw {out.get('error')!r} with wait left"
    got_at = out["got_at"]
    assert isinstance(got_at, float) and got_at >= released_at, "granted while B still held it"
    fencing = out["fencing"]
    assert isinstance(fencing, int) and fencing > holder_fencing


def test_callers_own_request_id_gets_conflict(replicas: Replicas) -> None:
    key = f"conv_{uuid.uuid4().hex[:8]}"
    _, _, out = _pause_server_of_queued_waiter(replicas, key, f"mine-{uuid.uuid4().hex}")
    error = out.get("error")
    assert isinstance(error, errors.Conflict), out
    assert "expired while waiting" in error.details or "taken over" in error.details
