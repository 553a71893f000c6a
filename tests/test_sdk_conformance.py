"""Cross-SDK conformance: every scenario, written once, runs against every SDK registered in
tests/sdk_adapters.py, through its adapter program (tests/conformance/PROTOCOL.md), against
a `threadlock serve` on the embedded store and on a real etcd (`served`).

    ./scripts/test.sh tests/test_sdk_conformance.py -k python

An adapter process is one SDK client; scenarios that need several workers start several.
Keys are unique per test, so tests share the session's coordinators.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from certs import Pki, make_pki
from conformance.commands import (
    acquire,
    key,
    raw_close_session,
    raw_holder_token,
    raw_release,
    status,
    waiting,
)
from conformance.driver import AdapterProcess, Workers, eventually
from harness import http_face, serve_process
from sdk_adapters import ADAPTERS, ROOT, Adapter
from slow_relay import DELAY, relay_in_thread

from threadlock.local_etcd import free_port

# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def builds() -> dict[str, str]:
    """SDK name -> "" once its adapter is built, or the output of its failed build."""
    return {}


@pytest.fixture(params=[a.name for a in ADAPTERS])
def sdk(request: pytest.FixtureRequest, builds: dict[str, str]) -> Adapter:
    adapter = next(a for a in ADAPTERS if a.name == request.param)
    if adapter.build is not None and adapter.name not in builds:
        try:
            done = subprocess.run(list(adapter.build), cwd=ROOT, capture_output=True, text=True,
                                  timeout=adapter.build_timeout, check=False)
            output = "" if done.returncode == 0 else (
                f"exit {done.returncode}\n{done.stdout[-4000:]}{done.stderr[-4000:]}")
        except (OSError, subprocess.TimeoutExpired) as exc:
            output = str(exc)
        builds[adapter.name] = output
    if builds.get(adapter.name):
        pytest.fail(f"building the {adapter.name} adapter ({adapter.build}) failed: "
                    f"{builds[adapter.name]}", pytrace=False)
    return adapter


@pytest.fixture
def workers(sdk: Adapter, tmp_path: Path) -> Iterator[Workers]:
    w = Workers(sdk, tmp_path, uuid.uuid4().hex[:6])
    yield w
    w.close_all()


@pytest.fixture
def backend_env(request: pytest.FixtureRequest, served: str) -> dict[str, str]:
    """Environment for a coordinator of this test's own on the same backend as `served`."""
    if request.node.callspec.params["served"] == "memory":
        return {}
    etcd = request.getfixturevalue("etcd")
    return {"THREADLOCK_ETCD_ENDPOINTS": etcd.endpoint,
            "THREADLOCK_KEY_PREFIX": f"/tl-sdkconf/{uuid.uuid4().hex[:8]}/"}


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("sdk-conformance-pki"))


# --- grant, busy, queue -----------------------------------------------------------------------


def test_grant(workers: Workers, served: str) -> None:
    w = workers.start("w", [served])
    k = key("grant")
    got = w.ok(acquire("a", k, ttl=10, metadata={"run_id": "run_1"}))
    assert got["handle"] == "a" and got["key"] == k
    assert isinstance(got["fencing_token"], int) and got["fencing_token"] > 0
    assert isinstance(got["lease_token"], str) and got["lease_token"]
    assert got["session_id"] == ""
    assert 0 < got["expires_in"] <= 11
    lock = status(w, k)
    assert lock is not None and lock["holder"] == {
        "owner": w.owner, "fencing_token": got["fencing_token"], "metadata": {"run_id": "run_1"}}
    w.ok({"cmd": "annotate", "handle": "a", "metadata": {"step": "2"}})
    lock = status(w, k)
    assert lock is not None and lock["holder"]["metadata"] == {"run_id": "run_1", "step": "2"}
    w.ok({"cmd": "check", "handle": "a"})
    assert w.ok({"cmd": "release", "handle": "a"})["released"] is True
    assert status(w, k) is None


def test_busy_names_the_holder(workers: Workers, served: str) -> None:
    holder, other = workers.start("holder", [served]), workers.start("other", [served])
    k = key("busy")
    holder.ok(acquire("a", k))
    busy = other.error(acquire("b", k, wait=0), "ThreadBusy")
    assert busy["holder"] == holder.owner
    assert busy["waiters"] == 0
    assert k in busy["message"] and holder.owner in busy["message"], busy["message"]
    assert holder.ok({"cmd": "release", "handle": "a"})["released"] is True


def test_fifo_across_three_waiters(workers: Workers, served: str) -> None:
    holder = workers.start("holder", [served])
    queue = [workers.start(f"waiter{i}", [served]) for i in (1, 2, 3)]
    k = key("fifo")
    first = holder.ok(acquire("h", k))
    for i, w in enumerate(queue, start=1):  # queue them in a known order, confirmed by Status
        w.send(acquire("q", k, ttl=10, wait=60))
        expected = [(q.owner, pos) for pos, q in enumerate(queue[:i], start=1)]
        eventually(lambda e=expected: waiting(holder, k) == e,  # type: ignore[misc]
                   what=f"{i} waiters queued in order")
    assert holder.ok({"cmd": "release", "handle": "h"})["released"] is True
    tokens = [first["fencing_token"]]
    for i, w in enumerate(queue):
        got = w.recv()
        assert got["ok"], f"waiter {i + 1} was not granted: {got}"
        tokens.append(got["fencing_token"])
        later = queue[i + 1:]
        assert not any(q.answered() for q in later), "a later waiter answered before its turn"
        lock = status(holder, k)
        assert lock is not None and lock["holder"]["owner"] == w.owner
        assert [x["owner"] for x in lock["waiters"]] == [q.owner for q in later]
        assert w.ok({"cmd": "release", "handle": "q"})["released"] is True
    assert tokens == sorted(tokens) and len(set(tokens)) == 4, tokens
    assert status(holder, k) is None


def test_wait_timeout_answers_busy_and_leaves_the_queue(workers: Workers, served: str) -> None:
    holder, other = workers.start("holder", [served]), workers.start("other", [served])
    k = key("timeout")
    holder.ok(acquire("a", k))
    other.send(acquire("b", k, wait=4))
    eventually(lambda: waiting(holder, k) == [(other.owner, 1)] or other.answered(),
               what="the waiter queued")
    assert not other.answered(), "the waiter answered before Status showed it queued"
    answer = other.recv()
    assert not answer["ok"] and answer["error"]["type"] == "ThreadBusy", answer
    assert answer["error"]["holder"] == holder.owner
    eventually(lambda: waiting(holder, k) == [], what="the waiter left the queue")
    holder.ok({"cmd": "check", "handle": "a"})


def test_release_is_idempotent(workers: Workers, served: str) -> None:
    w = workers.start("w", [served])
    k = key("release")
    w.ok(acquire("a", k))
    assert w.ok({"cmd": "release", "handle": "a"})["released"] is True
    assert w.ok({"cmd": "release", "handle": "a"})["released"] is False
    assert status(w, k) is None


# --- lease lifetime ---------------------------------------------------------------------------


def test_renewal_keeps_a_lease_beyond_three_ttls(workers: Workers, served: str) -> None:
    w = workers.start("w", [served])
    k = key("renew")
    got = w.ok(acquire("a", k, ttl=2))
    w.ok({"cmd": "hold", "handle": "a", "seconds": 7})
    w.ok({"cmd": "check", "handle": "a"})
    lock = status(w, k)
    assert lock is not None and lock["holder"]["fencing_token"] == got["fencing_token"]
    assert lock["holder"]["owner"] == w.owner
    assert w.ok({"cmd": "wait_lost", "handle": "a", "timeout": 0.5})["lost"] is False
    assert w.ok({"cmd": "release", "handle": "a"})["released"] is True


def _released_behind_its_back(workers: Workers, served: str,
                              taken: bool) -> tuple[AdapterProcess, str]:
    """A lease (ttl 2) whose token the driver releases with a raw gRPC call; with `taken`,
    another worker takes the key. The SDK must report the loss."""
    w = workers.start("w", [served])
    k = key("lost")
    got = w.ok(acquire("a", k, ttl=2))
    assert raw_release(served, got["lease_token"]) is True
    if taken:
        thief = workers.start("thief", [served])
        stolen = thief.ok(acquire("t", k, ttl=10, wait=10))
        assert stolen["fencing_token"] > got["fencing_token"]
    lost = w.ok({"cmd": "wait_lost", "handle": "a", "timeout": 20})
    assert lost["lost"] is True, lost
    assert isinstance(lost["reason"], str) and lost["reason"]
    error = w.error({"cmd": "check", "handle": "a"}, "LeaseLost")
    assert error.get("reason"), error
    w.error({"cmd": "hold", "handle": "a", "seconds": 0.1}, "LeaseLost")
    return w, k


def test_lease_lost_when_the_key_is_taken_by_force(workers: Workers, served: str) -> None:
    w, k = _released_behind_its_back(workers, served, taken=True)
    assert w.ok({"cmd": "release", "handle": "a"})["released"] is False
    lock = status(w, k)  # the thief's lock is untouched by the loser's release
    assert lock is not None and lock["holder"]["owner"] == f"thief-{workers.tag}"


def test_lease_lost_when_the_coordinator_says_not_found(workers: Workers, served: str) -> None:
    w, k = _released_behind_its_back(workers, served, taken=False)
    assert w.ok({"cmd": "release", "handle": "a"})["released"] is False
    assert status(w, k) is None


def test_request_id_retry_gets_the_same_lease(workers: Workers, served: str) -> None:
    w = workers.start("w", [served])
    k, rid = key("retry"), uuid.uuid4().hex
    first = w.ok(acquire("a", k, request_id=rid))
    again = w.ok(acquire("b", k, request_id=rid))
    assert (again["lease_token"], again["fencing_token"]) == (
        first["lease_token"], first["fencing_token"])
    w.error(acquire("c", k, request_id=uuid.uuid4().hex), "ThreadBusy")  # a new one: busy
    assert w.ok({"cmd": "release", "handle": "a"})["released"] is True
    assert w.ok({"cmd": "release", "handle": "b"})["released"] is False  # the same lease


def test_session_locks_share_a_session_and_close_frees_them(workers: Workers,
                                                            served: str) -> None:
    s = workers.start("session", [served], session=True, session_ttl=10)
    other = workers.start("other", [served])
    base = key("session")
    k1, k2 = f"{base}/1", f"{base}/2"
    a, b = s.ok(acquire("a", k1)), s.ok(acquire("b", k2))
    assert a["session_id"] and a["session_id"] == b["session_id"]
    assert a["fencing_token"] > 0 and b["fencing_token"] > 0
    locks = other.ok({"cmd": "status", "prefix": base})["locks"]  # Status by prefix, too
    assert [(x["key"], x["holder"]["owner"]) for x in locks] == [(k1, s.owner), (k2, s.owner)]
    other.error(acquire("x", k1), "ThreadBusy")
    s.ok({"cmd": "close"})
    for k in (k1, k2):
        eventually(lambda k=k: status(other, k) is None,  # type: ignore[misc]
                   what=f"{k} freed by the session's close")
    got = other.ok(acquire("x", k1))
    assert got["session_id"] == "" and got["fencing_token"] > a["fencing_token"]


def test_session_lock_lost_when_its_session_ends_behind_its_back(workers: Workers,
                                                                  served: str) -> None:
    s = workers.start("session", [served], session=True, session_ttl=2)
    k = key("s-lost")
    got = s.ok(acquire("a", k))
    assert raw_close_session(served, got["session_id"]) is True
    lost = s.ok({"cmd": "wait_lost", "handle": "a", "timeout": 20})
    assert lost["lost"] is True and lost["reason"], lost
    s.error({"cmd": "check", "handle": "a"}, "LeaseLost")
    assert status(s, k) is None
    again = s.ok(acquire("b", k))  # the client is not stuck: a new session
    assert again["session_id"] and again["session_id"] != got["session_id"], again
    assert again["fencing_token"] > got["fencing_token"]


def test_late_grant_is_released_and_acquired_again(workers: Workers, served: str) -> None:
    """A grant whose answer arrives after its lease may have lapsed (Lease.valid_for counted
    from when the SDK sent the Acquire) is never handed out: the SDK releases it and acquires
    again, so the caller gets a later grant, the live holder. The lateness is real: a relay
    holds the coordinator's bytes back for DELAY (4 s) > the TTL (2 s)."""
    upstream = http_face(served) if workers.adapter.http else served
    with relay_in_thread(upstream) as (relay, address):
        w = workers.start("w", [address], call_timeout=20)
        k = key("late")
        assert status(w, k) is None  # the connection is up: the next bytes answer Acquire
        relay.armed = True
        started = time.monotonic()
        w.send(acquire("a", k, ttl=2, wait=10))
        first = eventually(lambda: raw_holder_token(served, k),
                           what="the first grant (its answer held back)")
        got = w.recv()
        took = time.monotonic() - started
        assert got["ok"], got
        assert relay.held_back == 1 and took >= DELAY - 0.5, (relay.held_back, took)
        # The first grant lapsed while its answer was held back: the caller got a later one.
        assert got["fencing_token"] > first, (got, first)
        assert raw_holder_token(served, k) == got["fencing_token"]
        w.ok({"cmd": "check", "handle": "a"})
        assert w.ok({"cmd": "release", "handle": "a"})["released"] is True
        # With the caller's own request_id the SDK may not make a new one: Conflict (ABORTED),
        # and the late grant is not handed out; the key is free.
        relay.armed = True
        error = w.error(acquire("b", k, ttl=2, request_id=uuid.uuid4().hex), "Conflict")
        assert relay.held_back == 2 and "request_id" in error["message"], (relay.held_back, error)
        assert raw_holder_token(served, k) == 0
        workers.close_all()  # before the relay goes: each adapter must still exit 0


# --- transport --------------------------------------------------------------------------------


@pytest.mark.parametrize("mutual", [False, True], ids=["tls", "mtls"])
def test_tls(workers: Workers, backend_env: dict[str, str], pki: Pki, tmp_path: Path,
             mutual: bool) -> None:
    env = {**backend_env, "THREADLOCK_TLS_CERT": str(pki.server.cert),
           "THREADLOCK_TLS_KEY": str(pki.server.key)}
    client = {"ca": str(pki.server.ca)}
    if mutual:
        env["THREADLOCK_TLS_CLIENT_CA"] = str(pki.client.ca)
        client |= {"cert": str(pki.client.cert), "key": str(pki.client.key)}
    credentials = grpc.ssl_channel_credentials(
        pki.server.ca.read_bytes(), pki.client.key.read_bytes() if mutual else None,
        pki.client.cert.read_bytes() if mutual else None)
    proc, address = serve_process(env, tmp_path / "tls-serve.log", credentials)
    try:
        # Refused: plaintext to a TLS server; for mutual TLS, a client without a certificate.
        # The handshake refuses any call alike: a Status spares the cleanup an SDK may do
        # after an unanswered Acquire. Sent first, read last: it retries until call_timeout.
        bad = workers.start("refused", [address], call_timeout=2,
                            **({"tls": {"ca": str(pki.server.ca)}} if mutual else {}))
        bad.send({"cmd": "status", "key": key("refused")}, timeout=30)
        good = workers.start("tls", [address], tls=client)
        k = key("tls")
        got = good.ok(acquire("a", k))
        assert got["fencing_token"] > 0
        lock = status(good, k)
        assert lock is not None and lock["holder"]["owner"] == good.owner
        assert good.ok({"cmd": "release", "handle": "a"})["released"] is True
        refused = bad.recv()
        assert not refused["ok"], f"a client the server should refuse acquired: {refused}"
        assert refused["error"]["type"] in ("Unavailable", "CoordinatorError"), refused
    finally:
        proc.kill()  # not under test here; a graceful stop would wait for open channels
        proc.wait(timeout=30)


def test_failover_to_the_second_address(workers: Workers, served: str) -> None:
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    w = workers.start("w", [dead, served])
    k = key("failover")
    got = w.ok(acquire("a", k))
    assert got["fencing_token"] > 0
    lock = status(w, k)
    assert lock is not None and lock["holder"]["fencing_token"] == got["fencing_token"]
    assert w.ok({"cmd": "release", "handle": "a"})["released"] is True


def test_coordinator_down_answers_unavailable(workers: Workers, backend_env: dict[str, str],
                                              tmp_path: Path) -> None:
    proc, address = serve_process(backend_env, tmp_path / "down-serve.log")
    proc.kill()
    proc.wait(timeout=30)
    w, v = (workers.start(name, [address], call_timeout=2) for name in ("w", "v"))
    # A hang fails the command's deadline: call_timeout (2 s) plus generous slack.
    w.send(acquire("a", key("down")), timeout=20)
    v.error({"cmd": "status", "key": key("down")}, "Unavailable", timeout=20)
    answer = w.recv()
    assert not answer["ok"] and answer["error"]["type"] == "Unavailable", answer


# --- bad input --------------------------------------------------------------------------------


def _names_field(error: dict[str, Any], field: str) -> bool:
    """An InvalidArgument naming `field`, or a ValueError whose message names it."""
    if error["type"] == "InvalidArgument":
        return bool(error.get("field") == field)
    return field in error["message"]


def test_bad_input_names_the_field(workers: Workers, served: str) -> None:
    w = workers.start("w", [served])
    for command, field in ((acquire("a", key("ttl"), ttl=0.5), "ttl"),
                           (acquire("a", "", ttl=10), "key"),
                           (acquire("a", key("wait"), wait=-1), "wait")):
        error = w.error(command, "InvalidArgument", "ValueError")
        assert _names_field(error, field), (command, error)
    # An owner with a control character: refused at init or at the first call.
    bad = workers.spawn("bad-owner")
    answer = bad.request({"cmd": "init", "addresses": [served], "owner": "bad\nowner"})
    if answer["ok"]:
        answer = bad.request(acquire("a", key("owner")))
    assert not answer["ok"] and answer["error"]["type"] in ("InvalidArgument", "ValueError")
    assert _names_field(answer["error"], "owner"), answer
    # An empty owner: refused naming the field, or replaced by the SDK's default owner.
    empty = workers.spawn("empty-owner")
    answer = empty.request({"cmd": "init", "addresses": [served], "owner": ""})
    k = key("empty-owner")
    if answer["ok"]:
        answer = empty.request(acquire("a", k))
    if answer["ok"]:
        lock = status(empty, k)
        assert lock is not None and lock["holder"]["owner"], lock
    else:
        assert answer["error"]["type"] in ("InvalidArgument", "ValueError"), answer
        assert _names_field(answer["error"], "owner"), answer
    # Nothing crashed: the same client still works.
    assert w.ok(acquire("a", key("after")))["fencing_token"] > 0


def test_unknown_command_answers_internal(workers: Workers, served: str) -> None:
    w = workers.start("w", [served])
    w.send({"cmd": "no-such-command"})
    answer = w.recv()
    assert answer["ok"] is False and answer["error"]["type"] == "Internal", answer
    assert w.ok({"cmd": "status", "key": key("alive")})["locks"] == []
