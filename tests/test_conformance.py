"""The conformance suite: every promise of the lock service, through gRPC, against both
backends (the embedded store and a real etcd, on both the current and the oldest supported etcd
release). Fixture `coord` is one replica per backend."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import time

import grpc
import pytest
from etcd_server import COORD_ALL_ETCD
from harness import Coordinator, dur, eventually, rpc_error

from threadlock.v1 import lock_pb2 as pb

pytestmark = [pytest.mark.asyncio,
              pytest.mark.parametrize("coord", COORD_ALL_ETCD, indirect=True)]


# --- mutual exclusion and busy --------------------------------------------------------------

async def test_parallel_keys_do_not_block_each_other(coord: Coordinator) -> None:
    held = await coord.lease("conv_busy", "holder")
    results = await asyncio.gather(*(coord.acquire(f"conv_{i}", f"w{i}", wait=5)
                                     for i in range(20)))
    assert all(r.WhichOneof("result") == "lease" for r in results)
    # 21 separate grants. Fencing tokens order the grants of one key (README): grants of
    # different keys may share one (etcd: one group-committed revision).
    assert len({r.lease.lease_token for r in results} | {held.lease_token}) == 21
    assert all(r.lease.fencing_token > 0 for r in results)


async def test_second_acquire_reports_busy_with_holder(coord: Coordinator) -> None:
    held = await coord.lease("thread_a", "worker-1@pod-a", metadata={"run_id": "run_1"})
    resp = await coord.acquire("thread_a", "worker-2@pod-b")
    assert resp.WhichOneof("result") == "busy"
    busy = resp.busy
    assert busy.key == "thread_a"
    assert busy.holder.owner == "worker-1@pod-a"
    assert busy.holder.fencing_token == held.fencing_token
    assert busy.holder.metadata["run_id"] == "run_1"
    assert busy.holder.acquired_at.ToNanoseconds() == held.acquired_at.ToNanoseconds()
    assert busy.holder.expires_at.seconds > 0 and busy.holder.expires_in.seconds <= 10
    assert busy.waiters == 0
    assert "thread_a is busy" in busy.message and "worker-1@pod-a" in busy.message


async def test_mutual_exclusion_under_contention(coord: Coordinator) -> None:
    inside = 0
    overlaps = 0
    tokens: list[int] = []

    async def worker(n: int) -> None:
        nonlocal inside, overlaps
        for _ in range(5):
            lease = await coord.lease("hot", f"w{n}", wait=30)
            inside += 1
            overlaps += inside > 1
            tokens.append(lease.fencing_token)
            await asyncio.sleep(0.002)
            inside -= 1
            assert await coord.release(lease.lease_token)

    await asyncio.gather(*(worker(n) for n in range(6)))
    assert overlaps == 0
    assert tokens == sorted(tokens) and len(set(tokens)) == 30


# --- FIFO, queue hygiene -------------------------------------------------------------------

async def test_ten_waiters_are_served_in_arrival_order(coord: Coordinator) -> None:
    holder = await coord.lease("fifo", "holder")
    served: list[str] = []
    tokens: list[int] = [holder.fencing_token]

    async def waiter(name: str) -> None:
        lease = await coord.lease("fifo", name, wait=60, timeout=90)
        served.append(name)
        tokens.append(lease.fencing_token)
        await coord.release(lease.lease_token)

    names = [f"waiter-{i}" for i in range(10)]
    tasks = []
    for i, name in enumerate(names):
        tasks.append(asyncio.create_task(waiter(name)))
        # Arrival order is queue order: let each one be queued before the next arrives.
        await eventually(functools.partial(_has_waiters, coord, "fifo", i + 1))
    assert await coord.waiters("fifo") == names
    await coord.release(holder.lease_token)
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    assert served == names
    assert all(a < b for a, b in itertools.pairwise(tokens))


async def _has_waiters(coord: Coordinator, key: str, n: int) -> bool:
    return len(await coord.waiters(key)) == n


async def test_try_once_newcomer_never_jumps_the_queue(coord: Coordinator) -> None:
    holder = await coord.lease("q", "holder")
    waiter = asyncio.create_task(coord.lease("q", "waiter", wait=30))
    await eventually(lambda: _has_waiters(coord, "q", 1))
    newcomer = await coord.acquire("q", "newcomer")
    assert newcomer.busy.waiters == 1
    await coord.release(holder.lease_token)
    # The waiter holds the key the moment the holder leaves, before it even hears of it.
    late = await coord.acquire("q", "newcomer")
    assert late.WhichOneof("result") == "busy" and late.busy.holder.owner == "waiter"
    assert (await waiter).owner == "waiter"


async def test_cancelled_waiter_leaves_the_queue(coord: Coordinator) -> None:
    holder = await coord.lease("c", "holder")
    call = coord.stub.Acquire(pb.AcquireRequest(key="c", owner="impatient", ttl=dur(10),
                                                wait=dur(60)), timeout=90)
    await eventually(lambda: _has_waiters(coord, "c", 1))
    call.cancel()
    await eventually(lambda: _has_waiters(coord, "c", 0))
    await coord.release(holder.lease_token)
    assert (await coord.acquire("c", "next")).WhichOneof("result") == "lease"


async def test_deadline_shorter_than_wait_answers_busy_in_time(coord: Coordinator) -> None:
    await coord.lease("d", "holder")
    start = time.monotonic()
    resp = await coord.acquire("d", "short-deadline", wait=60, timeout=1.5)
    assert resp.WhichOneof("result") == "busy" and resp.busy.holder.owner == "holder"
    assert 0.5 < resp.busy.waited.ToTimedelta().total_seconds() < 1.5
    assert time.monotonic() - start < 1.5
    assert await coord.waiters("d") == []


async def test_elapsed_wait_returns_busy_and_leaves_no_slot(coord: Coordinator) -> None:
    await coord.lease("w", "holder")
    start = time.monotonic()
    resp = await coord.acquire("w", "patient", wait=0.5)
    assert resp.WhichOneof("result") == "busy"
    assert resp.busy.holder.owner == "holder"
    assert resp.busy.waited.ToTimedelta().total_seconds() >= 0.5
    assert time.monotonic() - start >= 0.5
    assert await coord.waiters("w") == []


# --- expiry ----------------------------------------------------------------------------------

async def test_unrenewed_holder_expires_and_next_waiter_gets_the_key(coord: Coordinator) -> None:
    held = await coord.lease("exp", "crashed", ttl=2)
    lease = await coord.lease("exp", "next", wait=30)
    expired_at = held.expires_at.ToNanoseconds() / 1e9
    assert lease.fencing_token > held.fencing_token
    assert time.time() - expired_at < 5  # generous; the SIGKILL test holds the tight bound
    err = await rpc_error(coord.stub.KeepAlive(pb.KeepAliveRequest(lease_token=held.lease_token),
                                               timeout=10))
    assert err.code() == grpc.StatusCode.NOT_FOUND and "gone" in (err.details() or "")


async def test_keepalive_keeps_the_lock_past_its_ttl(coord: Coordinator) -> None:
    held = await coord.lease("ka", "renewer", ttl=2)
    end = time.monotonic() + 4.5
    while time.monotonic() < end:
        resp = await coord.stub.KeepAlive(pb.KeepAliveRequest(lease_token=held.lease_token),
                                          timeout=10)
        assert resp.ttl.seconds == 2 and resp.expires_at.seconds >= int(time.time())
        await asyncio.sleep(0.5)
    busy = await coord.acquire("ka", "other")
    assert busy.busy.holder.fencing_token == held.fencing_token


async def test_keepalive_merges_metadata_into_the_lock(coord: Coordinator) -> None:
    held = await coord.lease("md", "worker", metadata={"worker": "w1", "step": "start"})
    waiter = asyncio.create_task(coord.acquire("md", "next", wait=30))
    await eventually(functools.partial(_has_waiters, coord, "md", 1))
    await coord.stub.KeepAlive(pb.KeepAliveRequest(
        lease_token=held.lease_token, metadata={"response_id": "resp_1", "step": ""}), timeout=10)
    [state] = await coord.status("md")
    assert dict(state.holder.metadata) == {"worker": "w1", "response_id": "resp_1"}
    assert state.holder.fencing_token == held.fencing_token  # same grant, same token
    busy = await coord.acquire("md", "other")
    assert dict(busy.busy.holder.metadata)["response_id"] == "resp_1"
    assert await coord.release(held.lease_token)  # the updated lock is still the token's
    assert (await waiter).WhichOneof("result") == "lease"


async def test_keepalive_metadata_of_a_session_lock(coord: Coordinator) -> None:
    s = await _session(coord, ttl=30)
    held = await coord.lease("md3", "proc", ttl=0, session_id=s.session_id)
    await coord.stub.KeepAlive(pb.KeepAliveRequest(
        lease_token=held.lease_token, metadata={"run_id": "run_1"}), timeout=10)
    [state] = await coord.status("md3")
    assert dict(state.holder.metadata) == {"run_id": "run_1"}
    await coord.stub.CloseSession(pb.CloseSessionRequest(session_id=s.session_id), timeout=10)
    assert not await coord.status("md3")  # still on the session's lease


async def test_keepalive_metadata_is_checked_and_needs_a_lock(coord: Coordinator) -> None:
    held = await coord.lease("md2", "worker")
    too_many = {f"k{i}": "v" for i in range(17)}
    err = await rpc_error(coord.stub.KeepAlive(pb.KeepAliveRequest(
        lease_token=held.lease_token, metadata=too_many), timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "metadata" in (err.details() or "")
    s = await _session(coord, ttl=30)
    err = await rpc_error(coord.stub.KeepAlive(pb.KeepAliveRequest(
        session_id=s.session_id, metadata={"a": "b"}), timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "metadata" in (err.details() or "")
    assert await coord.release(held.lease_token)
    gone = await rpc_error(coord.stub.KeepAlive(pb.KeepAliveRequest(
        lease_token=held.lease_token, metadata={"a": "b"}), timeout=10))
    assert gone.code() == grpc.StatusCode.NOT_FOUND
    assert not await coord.status("md2")  # a gone lock is not re-created by an update


# --- release ---------------------------------------------------------------------------------

async def test_release_is_idempotent(coord: Coordinator) -> None:
    held = await coord.lease("r", "holder")
    assert await coord.release(held.lease_token) is True
    assert await coord.release(held.lease_token) is False
    assert (await coord.acquire("r", "next")).WhichOneof("result") == "lease"


async def test_release_by_a_non_holder_is_refused_and_changes_nothing(
        coord: Coordinator) -> None:
    first = await coord.lease("nh", "first", ttl=2)
    await eventually(lambda: _all_free(coord, ["nh"]), timeout=15)  # first's lease lapsed
    holder = await coord.lease("nh", "holder")
    # A stale token (its lease expired, someone else holds the key now):
    stale = await rpc_error(coord.release(first.lease_token))
    assert stale.code() == grpc.StatusCode.NOT_FOUND
    # A forged token for the same key: the holder's token with another uid.
    forged = await rpc_error(coord.release(_with_other_uid(holder.lease_token)))
    assert forged.code() == grpc.StatusCode.NOT_FOUND
    junk = await rpc_error(coord.release("not-a-token"))
    assert junk.code() == grpc.StatusCode.INVALID_ARGUMENT and "lease_token" in (
        junk.details() or "")
    (state,) = await coord.status("nh")
    assert state.holder.owner == "holder" and state.holder.fencing_token == holder.fencing_token


def _with_other_uid(token: str) -> str:
    from threadlock import tokens
    ref = tokens.decode_lease(token)
    return tokens.encode_lease(tokens.LeaseRef(ref.key, "n" + "0" * 32, ref.lease, ref.revision))


# --- idempotent retries ----------------------------------------------------------------------

async def test_retried_acquire_with_same_request_id_returns_the_same_lease(
        coord: Coordinator) -> None:
    a = await coord.lease("idem", "w1", request_id="req-1")
    b = await coord.lease("idem", "w1", request_id="req-1")
    assert (a.lease_token, a.fencing_token) == (b.lease_token, b.fencing_token)
    (state,) = await coord.status("idem")
    assert state.holder.fencing_token == a.fencing_token and not state.waiters


async def test_retried_queued_acquire_keeps_one_queue_slot(coord: Coordinator) -> None:
    holder = await coord.lease("idem-q", "holder")
    first = asyncio.create_task(coord.lease("idem-q", "w1", wait=30, request_id="req-q"))
    await eventually(lambda: _has_waiters(coord, "idem-q", 1))
    second = asyncio.create_task(coord.lease("idem-q", "w1", wait=30, request_id="req-q"))
    await asyncio.sleep(0.2)  # give a wrongful second slot time to appear
    assert await coord.waiters("idem-q") == ["w1"]
    await coord.release(holder.lease_token)
    # The retry took the slot over: it gets the lease; the superseded first attempt (whose
    # caller, in real life, gave up on it) answers ABORTED, or the very same lease.
    a, b = await asyncio.gather(first, second, return_exceptions=True)
    assert isinstance(b, pb.Lease) and b.owner == "w1"
    if isinstance(a, pb.Lease):
        assert a.lease_token == b.lease_token and a.fencing_token == b.fencing_token
    else:
        assert isinstance(a, grpc.aio.AioRpcError) and a.code() == grpc.StatusCode.ABORTED
    (state,) = await coord.status("idem-q")
    assert state.holder.fencing_token == b.fencing_token and not state.waiters


async def test_request_id_reuse_is_refused(coord: Coordinator) -> None:
    held = await coord.lease("reuse", "w1", request_id="req-r")
    other = await rpc_error(coord.acquire("reuse", "w2", request_id="req-r"))
    assert other.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "request_id" in (other.details() or "")
    await coord.release(held.lease_token)
    again = await rpc_error(coord.acquire("reuse", "w1", request_id="req-r"))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION


# --- fencing ---------------------------------------------------------------------------------

async def test_fencing_tokens_strictly_increase_on_every_grant(coord: Coordinator) -> None:
    seen: list[int] = []
    for i in range(15):
        lease = await coord.lease("fence", f"owner-{i % 3}")
        seen.append(lease.fencing_token)
        other = await coord.lease(f"fence-other-{i}", "x")  # grants elsewhere interleave
        await coord.release(other.lease_token)
        await coord.release(lease.lease_token)
    assert all(a < b for a, b in itertools.pairwise(seen))


# --- sessions --------------------------------------------------------------------------------

async def _session(coord: Coordinator, ttl: float = 2) -> pb.OpenSessionResponse:
    resp: pb.OpenSessionResponse = await coord.stub.OpenSession(
        pb.OpenSessionRequest(owner="proc-1", ttl=dur(ttl)), timeout=10)
    return resp


async def test_session_death_frees_all_its_locks(coord: Coordinator) -> None:
    s = await _session(coord, ttl=2)
    leases = [await coord.lease(f"s{i}", "proc-1", ttl=0, session_id=s.session_id)
              for i in range(5)]
    assert all(lease.session_id == s.session_id for lease in leases)
    assert [(await coord.acquire(f"s{i}", "x")).WhichOneof("result") for i in range(5)] == [
        "busy"] * 5
    # Nobody renews the session: it expires, and every lock with it.
    await eventually(lambda: _all_free(coord, [f"s{i}" for i in range(5)]), timeout=15)
    err = await rpc_error(coord.stub.KeepAlive(pb.KeepAliveRequest(session_id=s.session_id),
                                               timeout=10))
    assert err.code() == grpc.StatusCode.NOT_FOUND


async def _all_free(coord: Coordinator, keys: list[str]) -> bool:
    return all([not await coord.status(k) for k in keys])


async def test_closing_a_session_frees_its_locks_at_once(coord: Coordinator) -> None:
    s = await _session(coord, ttl=30)
    await coord.lease("cs1", "proc-1", ttl=0, session_id=s.session_id)
    await coord.lease("cs2", "proc-1", ttl=0, session_id=s.session_id)
    closed = await coord.stub.CloseSession(pb.CloseSessionRequest(session_id=s.session_id),
                                           timeout=10)
    assert closed.closed
    assert await _all_free(coord, ["cs1", "cs2"])
    again = await coord.stub.CloseSession(pb.CloseSessionRequest(session_id=s.session_id),
                                          timeout=10)
    assert not again.closed


async def test_one_session_keepalive_renews_all_its_locks(coord: Coordinator) -> None:
    s = await _session(coord, ttl=2)
    for i in range(3):
        await coord.lease(f"sk{i}", "proc-1", ttl=0, session_id=s.session_id)
    end = time.monotonic() + 4.5
    while time.monotonic() < end:
        await coord.stub.KeepAlive(pb.KeepAliveRequest(session_id=s.session_id), timeout=10)
        await asyncio.sleep(0.5)
    assert [(await coord.acquire(f"sk{i}", "x")).WhichOneof("result") for i in range(3)] == [
        "busy"] * 3


async def test_released_session_lock_frees_only_that_lock(coord: Coordinator) -> None:
    s = await _session(coord, ttl=30)
    a = await coord.lease("sr1", "proc-1", ttl=0, session_id=s.session_id)
    await coord.lease("sr2", "proc-1", ttl=0, session_id=s.session_id)
    assert await coord.release(a.lease_token)
    assert not await coord.status("sr1") and await coord.status("sr2")
    gone = await rpc_error(coord.stub.KeepAlive(pb.KeepAliveRequest(lease_token=a.lease_token),
                                                timeout=10))
    assert gone.code() == grpc.StatusCode.NOT_FOUND


async def test_acquire_with_an_ended_session_is_not_found(coord: Coordinator) -> None:
    s = await _session(coord, ttl=30)
    await coord.stub.CloseSession(pb.CloseSessionRequest(session_id=s.session_id), timeout=10)
    err = await rpc_error(coord.acquire("se", "proc-1", ttl=0, session_id=s.session_id))
    assert err.code() == grpc.StatusCode.NOT_FOUND and "session_id" in (err.details() or "")


# --- status ----------------------------------------------------------------------------------

async def test_status_lists_holders_and_waiters_in_order(coord: Coordinator) -> None:
    await coord.lease("doc/7/thread", "holder", metadata={"run_id": "run_9"})
    queued = []
    for i in range(3):
        queued.append(asyncio.create_task(coord.acquire("doc/7/thread", f"w{i}", wait=30)))
        await eventually(functools.partial(_has_waiters, coord, "doc/7/thread", i + 1))
    await coord.lease("doc/8/thread", "other")
    await coord.lease("zzz", "unrelated")
    locks = await coord.status(prefix="doc/")
    assert [s.key for s in locks] == ["doc/7/thread", "doc/8/thread"]
    first = locks[0]
    assert first.holder.owner == "holder" and first.holder.metadata["run_id"] == "run_9"
    assert [w.owner for w in first.waiters] == ["w0", "w1", "w2"]
    assert [w.position for w in first.waiters] == [1, 2, 3]
    assert first.holder.expires_in.seconds <= 10 and first.holder.held_for.seconds >= 0
    everything = await coord.status(prefix="")
    assert {s.key for s in everything} >= {"doc/7/thread", "doc/8/thread", "zzz"}
    for task in queued:
        task.cancel()


async def test_status_paginates(coord: Coordinator) -> None:
    keys = [f"page/{i:02d}" for i in range(7)]
    for k in keys:
        await coord.lease(k, "p")
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        resp = await coord.stub.Status(pb.StatusRequest(prefix="page/", page_size=3,
                                                        page_token=token), timeout=10)
        assert len(resp.locks) <= 3
        seen += [s.key for s in resp.locks]
        pages += 1
        token = resp.next_page_token
        if not token:
            break
    assert seen == keys and pages == 3


async def test_status_of_a_free_key_is_empty(coord: Coordinator) -> None:
    assert await coord.status("never-held") == []


async def test_session_id_with_a_wrong_nonce_is_not_found(coord: Coordinator) -> None:
    from threadlock import tokens
    s = await _session(coord, ttl=30)
    ref = tokens.decode_session(s.session_id)
    forged = tokens.encode_session(tokens.SessionRef(ref.lease, "f" * 32))
    err = await rpc_error(coord.acquire("sn", "proc-1", ttl=0, session_id=forged))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    err = await rpc_error(coord.stub.KeepAlive(pb.KeepAliveRequest(session_id=forged),
                                               timeout=10))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    closed = await coord.stub.CloseSession(pb.CloseSessionRequest(session_id=forged), timeout=10)
    assert not closed.closed
    assert (await coord.lease("sn", "proc-1", ttl=0, session_id=s.session_id)).key == "sn"


async def test_try_once_with_an_ended_session_on_a_busy_key_is_not_found(
        coord: Coordinator) -> None:
    await coord.lease("sb", "holder")
    s = await _session(coord, ttl=30)
    await coord.stub.CloseSession(pb.CloseSessionRequest(session_id=s.session_id), timeout=10)
    err = await rpc_error(coord.acquire("sb", "proc-1", ttl=0, session_id=s.session_id))
    assert err.code() == grpc.StatusCode.NOT_FOUND


async def test_session_lock_reports_the_session_ttl(coord: Coordinator) -> None:
    s = await _session(coord, ttl=7)
    lease = await coord.lease("st", "proc-1", ttl=0, session_id=s.session_id)
    assert lease.ttl.seconds == 7
    assert 0 < lease.expires_at.seconds - time.time() <= 7.5


async def test_request_id_retry_under_another_session_is_refused(coord: Coordinator) -> None:
    s1, s2 = await _session(coord, ttl=30), await _session(coord, ttl=30)
    await coord.lease("rs", "proc-1", ttl=0, session_id=s1.session_id, request_id="rq")
    for other in ({"session_id": s2.session_id, "ttl": 0}, {"ttl": 10}):
        err = await rpc_error(coord.acquire("rs", "proc-1", request_id="rq", **other))
        assert err.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_forged_session_keepalive_does_not_keep_it_alive(coord: Coordinator) -> None:
    from threadlock import tokens
    s = await _session(coord, ttl=2)
    await coord.lease("fk", "proc-1", ttl=0, session_id=s.session_id)
    ref = tokens.decode_session(s.session_id)
    forged = tokens.encode_session(tokens.SessionRef(ref.lease, "0" * 32))

    async def freed_despite_forger() -> bool:
        with contextlib.suppress(grpc.aio.AioRpcError):
            await coord.stub.KeepAlive(pb.KeepAliveRequest(session_id=forged), timeout=10)
        return await _all_free(coord, ["fk"])

    await eventually(freed_despite_forger, timeout=15, interval=0.3)


async def test_release_with_a_tampered_lease_id_changes_nothing(coord: Coordinator) -> None:
    from threadlock import tokens
    victim = await _session(coord, ttl=30)
    await coord.lease("tv", "victim", ttl=0, session_id=victim.session_id)
    mine = await coord.lease("tm", "me")
    ref = tokens.decode_lease(mine.lease_token)
    other = tokens.decode_session(victim.session_id).lease
    tampered = tokens.encode_lease(tokens.LeaseRef(ref.key, ref.uid, other, ref.revision))
    err = await rpc_error(coord.release(tampered))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    await coord.stub.KeepAlive(pb.KeepAliveRequest(session_id=victim.session_id), timeout=10)
    assert await coord.status("tv") and await coord.status("tm")


async def test_closing_a_session_ends_its_queued_acquires(coord: Coordinator) -> None:
    s = await _session(coord, ttl=30)
    await coord.lease("cq", "holder")
    waiter = asyncio.create_task(coord.acquire("cq", "proc-1", ttl=0, wait=60, timeout=90,
                                               session_id=s.session_id))
    await eventually(functools.partial(_has_waiters, coord, "cq", 1))
    await coord.stub.CloseSession(pb.CloseSessionRequest(session_id=s.session_id), timeout=10)
    err = await rpc_error(asyncio.wait_for(waiter, 30))
    assert err.code() == grpc.StatusCode.NOT_FOUND and "session" in (err.details() or "")
    await eventually(functools.partial(_has_waiters, coord, "cq", 0))


async def test_release_trusts_the_store_not_the_token_about_sessions(
        coord: Coordinator) -> None:
    from threadlock import tokens
    s = await _session(coord, ttl=30)
    a = await coord.lease("ts1", "proc-1", ttl=0, session_id=s.session_id)
    await coord.lease("ts2", "proc-1", ttl=0, session_id=s.session_id)
    ref = tokens.decode_lease(a.lease_token)
    flipped = tokens.encode_lease(tokens.LeaseRef(ref.key, ref.uid, ref.lease, ref.revision,
                                                  session=False))
    assert await coord.release(flipped)  # releases that lock, and only that lock
    await coord.stub.KeepAlive(pb.KeepAliveRequest(session_id=s.session_id), timeout=10)
    assert not await coord.status("ts1") and await coord.status("ts2")


async def test_grants_are_logged_with_key_owner_and_fencing_token(
        coord: Coordinator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="threadlock.locks")
    lease = await coord.lease("logged", "worker-9")
    granted = [r for r in caplog.records if r.getMessage() == "granted"]
    assert [(r.key, r.owner, r.fencing_token) for r in granted] == [  # type: ignore[attr-defined]
        ("logged", "worker-9", lease.fencing_token)]
