"""The SDK absorbs a queued lease that expired while waiting (issue 14).

Provoked for real: the waiter queues through replica A only, the holder holds through replica
B; A (the process that keeps the queued lease alive in etcd) is SIGSTOPped for longer than the
TTL, so the queued lease expires in etcd and A, once resumed, answers ABORTED ("the queued
lease ... expired while waiting; acquire again with a new request_id"). The SDK must queue
again with a new request_id inside the caller's `wait`: the caller gets the lock, never
`Conflict`. A caller's own request_id is the caller's to retry: it does get `Conflict`.
The waiter is every SDK in turn, through its conformance adapter (tests/sdk_adapters.py).
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
import test_sdk_conformance as conformance_suite
from conformance.commands import acquire
from conformance.driver import Answer, Workers
from etcd_server import EtcdServer
from harness import serve_process

from threadlock_client import LockClient, errors

# The conformance suite's fixtures: `sdk` (every SDK, its adapter built once), `workers`.
builds, sdk, workers = conformance_suite.builds, conformance_suite.sdk, conformance_suite.workers

TTL = 2.0  # the waiter's: its queued lease expires soon after A stops
HOLDER_TTL = 6.0  # the holder's (through B): outlives a slow renewal on a busy machine
WAIT = 60.0  # the waiter's `wait`: far longer than the whole scenario
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


def _pause_server_of_queued_waiter(replicas: Replicas, workers: Workers, key: str,
                                   request_id: str) -> tuple[int, float, Answer, float]:
    """Hold `key` through B (Python SDK), queue a waiter (the SDK under test, through A only),
    stop A past the TTL, resume it, release. Returns (holder's fencing token, when it
    released, the waiter's answer, when it came)."""
    (proc_a, addr_a), (_, addr_b) = replicas
    waiter = workers.start("waiter", [addr_a])
    extra = {"request_id": request_id} if request_id else {}
    with LockClient([addr_b]) as holder_client:
        lease = holder_client.acquire(key, ttl=HOLDER_TTL, wait=0)
        waiter.send(acquire("w", key, ttl=TTL, wait=WAIT, **extra))
        _wait_for(lambda: _queued(holder_client, key))
        os.kill(proc_a.pid, signal.SIGSTOP)
        try:
            time.sleep(PAUSE)  # the fault itself: A keeps nothing alive meanwhile
            assert not _queued(holder_client, key), "the queued lease outlived its TTL"
        finally:
            os.kill(proc_a.pid, signal.SIGCONT)
        time.sleep(TTL)  # A answers the first request_id meanwhile; B still holds
        lease.check()  # the holder kept its lease through B all along
        early = waiter.recv() if waiter.answered() else None  # an error, never a grant
        assert early is None or not early["ok"], f"granted while B held the lock: {early}"
        released_at = time.monotonic()
        holder_fencing = lease.fencing_token
        lease.release()
        answer = early or waiter.recv()
        answered_at = time.monotonic()
    if answer["ok"]:
        waiter.ok({"cmd": "release", "handle": "w"})
    return holder_fencing, released_at, answer, answered_at


def test_sdk_queues_again_when_its_queued_lease_expired(replicas: Replicas,
                                                        workers: Workers) -> None:
    key = f"conv_{uuid.uuid4().hex[:8]}"
    holder_fencing, released_at, answer, answered_at = _pause_server_of_queued_waiter(
        replicas, workers, key, "")
    assert answer["ok"], f"the caller saw {answer['error']} with wait left"
    assert answer["fencing_token"] > holder_fencing  # granted after the holder, once
    assert released_at <= answered_at < released_at + WAIT


def test_callers_own_request_id_gets_conflict(replicas: Replicas, workers: Workers) -> None:
    key = f"conv_{uuid.uuid4().hex[:8]}"
    _, _, answer, _ = _pause_server_of_queued_waiter(replicas, workers, key,
                                                     f"mine-{uuid.uuid4().hex}")
    assert not answer["ok"], answer
    assert answer["error"]["type"] == "Conflict", answer


def test_wait_that_runs_out_while_paused_answers_busy(replicas: Replicas) -> None:
    """The same fault with a `wait` shorter than the pause: whatever A answers when it resumes
    (its wait timed out, or the queued lease expired), the caller gets ThreadBusy naming the
    holder, the answer a `wait` promises, never Conflict. (The Python SDK; the policy core is
    the same code for every face.)"""
    (proc_a, addr_a), (_, addr_b) = replicas
    key = f"conv_{uuid.uuid4().hex[:8]}"
    outcome: list[BaseException] = []
    with LockClient([addr_b]) as holder_client, LockClient([addr_a]) as waiter_client:
        lease = holder_client.acquire(key, ttl=HOLDER_TTL, wait=0)

        def wait_in_queue() -> None:
            try:
                waiter_client.acquire(key, ttl=TTL, wait=PAUSE / 2)
            except Exception as exc:  # recorded for the assertions below
                outcome.append(exc)

        waiter = threading.Thread(target=wait_in_queue, daemon=True)
        waiter.start()
        _wait_for(lambda: _queued(holder_client, key))
        os.kill(proc_a.pid, signal.SIGSTOP)
        try:
            time.sleep(PAUSE)
        finally:
            os.kill(proc_a.pid, signal.SIGCONT)
        waiter.join(timeout=WAIT)
        assert not waiter.is_alive(), "the waiter's acquire hung"
        lease.check()
        assert len(outcome) == 1 and isinstance(outcome[0], errors.ThreadBusy), outcome
        assert not lease.lost
        lease.release()
