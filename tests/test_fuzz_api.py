"""A property-based fuzzer of the gRPC API (issue 13): Hypothesis drives every RPC with
arbitrary field values (and tokens/session ids that are garbage, token-shaped, or real ones
from earlier answers, possibly of another tenant), plus raw malformed protobuf bytes through a
generic unary call, on both backends, with auth off and on.

Properties, per call: it answers within its deadline (no hang); its status is OK or one of the
expected refusals, never INTERNAL/UNKNOWN; an INVALID_ARGUMENT/RESOURCE_EXHAUSTED names its
field or limit; and a refused call leaves every lock exactly as it was (Status before == after).

CI runs a short run. The long run (>= 100,000 cases):
    THREADLOCK_FUZZ_EXAMPLES=25000 pytest tests/test_fuzz_api.py -p no:cacheprovider
(4 combinations x 25,000 = 100,000 cases). On a shared, overloaded machine add
THREADLOCK_FUZZ_CALL_TIMEOUT=60: a call starved of CPU for 10 s is not a hang.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest
from authkit import new_api_key, write_auth
from google.protobuf import duration_pb2
from google.protobuf.message import Message
from harness import Coordinator, etcd_config, memory_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import DataObject

from threadlock import tokens
from threadlock.v1 import lock_pb2 as pb

EXAMPLES = int(os.environ.get("THREADLOCK_FUZZ_EXAMPLES", "120"))
# A call that has not answered by then counts as hung. 10 s is generous on a quiet machine;
# a long run on a shared, overloaded one can raise it (a real hang never answers at all).
CALL_TIMEOUT = float(os.environ.get("THREADLOCK_FUZZ_CALL_TIMEOUT", "10"))
CLEANUP_EVERY = 50  # OK calls between releases of everything the run holds...
TIDY_SECONDS = 20.0  # ...and at most this long: its locks (TTL >= 60 s, never renewed) must
# not expire between two tidies, or a later refused call would seem to have removed them.
C = grpc.StatusCode
REFUSALS = {C.INVALID_ARGUMENT, C.UNAUTHENTICATED, C.PERMISSION_DENIED, C.RESOURCE_EXHAUSTED,
            # Well-formed requests about state that is not there: a token whose lease is gone,
            # a request_id reused by another owner. Refusals too, with nothing changed.
            C.NOT_FOUND, C.FAILED_PRECONDITION}
NAMED = re.compile(r"^(key|owner|ttl|wait|request_id|metadata|metadata key|metadata\[.*\]|"
                   r"session_id|lease_token|page_size|page_token|prefix|tenant|reason|request|"
                   r"key_bytes|metadata_entries|metadata_bytes|acquire_rate|sessions|"
                   r"locks_held|waiters|max_waiters): ", re.DOTALL)
SERVICE = "/threadlock.v1.LockService/"
METHODS = ("Acquire", "KeepAlive", "Release", "OpenSession", "CloseSession", "Status",
           "ForceRelease")


@dataclass
class Target:
    c: Coordinator
    loop: asyncio.AbstractEventLoop
    auth: bool
    keys: dict[str, str] = field(default_factory=dict)  # role -> API key
    leases: list[str] = field(default_factory=list)  # real tokens seen in answers
    sessions: list[str] = field(default_factory=list)
    snapshot: list[Any] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    ok_calls: int = 0
    slowest: float = 0.0  # seconds, the longest any fuzzed call took to answer
    tidied: float = field(default_factory=time.monotonic)


@pytest.fixture(params=[("memory", False), ("memory", True), ("etcd", False), ("etcd", True)],
                ids=lambda p: f"{p[0]}-auth-{'on' if p[1] else 'off'}")
def target(request: pytest.FixtureRequest, tmp_path: Path, key_prefix: str) -> Iterator[Target]:
    backend, auth = request.param
    config = memory_config()
    if backend == "etcd":
        config = etcd_config(request.getfixturevalue("etcd").endpoint, key_prefix)
    keys: dict[str, str] = {}
    if auth:
        entries = []
        for tenant, role in (("fuzz-a", "locker"), ("fuzz-b", "locker"), ("fuzz-a", "viewer"),
                             ("ops", "admin")):
            key, sha = new_api_key()
            keys[f"{tenant}:{role}"] = key
            entries.append({"sha256": sha, "tenant": tenant, "role": role})
        path = write_auth(tmp_path / "auth.yaml", {
            "api_keys": entries, "session_secret": "f" * 32,
            "quotas": {"default": {"acquire_rate": 1e9, "acquire_burst": 10**9,
                                   "metadata_entries": 8, "metadata_bytes": 2000}}})
        config = dataclasses.replace(config, auth_file=str(path))
    loop = asyncio.new_event_loop()
    c = loop.run_until_complete(Coordinator(config).start())
    t = Target(c, loop, auth, keys)
    yield t
    print(f"\nfuzz {request.node.callspec.id}: {sum(t.counts.values())} calls, slowest "
          f"{t.slowest:.2f}s, {t.counts}")
    loop.run_until_complete(c.stop())
    loop.close()


# --- strategies ------------------------------------------------------------------------------

wild = st.one_of(st.text(max_size=40), st.text(min_size=200, max_size=700),
                 st.sampled_from(["", "k", "a/b", "team-b/k", "\x00", "\u00fc" * 300, " "]))
# Half the time a plausible value, so that calls also get past validation: grants, busy
# answers, queues, renewals and releases are fuzzed too, not only refusals.
plausible = st.one_of(st.sampled_from(["conv_1", "conv_2", "thread_a", "a/b", "w1", "w2"]),
                      st.text(alphabet="abcdefghij_-/0123456789", min_size=1, max_size=24))
texts = st.one_of(plausible, wild)
ints64 = st.integers(-(2**40), 2**40)


def _duration(seconds: int, nanos: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=seconds, nanos=nanos)


# Valid TTLs are long (>= 60 s) so that nothing expires during a run: an expiry would look like
# a state change. Invalid ones cover negatives, zero, fractions below the minimum, huge values.
valid_ttl = st.builds(_duration, st.integers(60, 3600), st.integers(0, 999_999_999))
# Anything else: below the 2 s minimum, above the maximum, or absurd; never a short valid
# TTL (2-59 s), whose expiry during the run would look like a state change.
not_short = st.one_of(st.integers(-(2**40), 1), st.integers(3601, 2**40))
ttls = st.one_of(
    valid_ttl, valid_ttl, st.none(),
    st.builds(_duration, not_short, st.integers(-999_999_999, 999_999_999)))
waits = st.one_of(
    st.none(),
    st.builds(_duration, st.just(0), st.integers(0, 200_000_000)),  # valid and short
    st.builds(_duration, st.one_of(st.integers(-(2**40), -1), st.integers(601, 2**40)),
              st.integers(-999_999_999, 999_999_999)))
metadata = st.one_of(
    st.dictionaries(plausible, plausible, max_size=3),
    st.dictionaries(st.text(max_size=70), st.text(max_size=1100), max_size=20))
b64 = st.binary(max_size=120).map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("="))
shaped_leases = st.one_of(
    b64.map(lambda s: "tl1." + s),
    st.builds(lambda k, u, lease, rev, ses: tokens.encode_lease(
        tokens.LeaseRef(k, u, lease, rev, ses)),
        texts, st.text(min_size=1, max_size=40), st.integers(1, 2**62), st.integers(1, 2**62),
        st.booleans()))
shaped_sessions = st.one_of(
    b64.map(lambda s: "ts1." + s),
    st.builds(lambda lease, nonce: tokens.encode_session(tokens.SessionRef(lease, nonce)),
              st.integers(1, 2**62), st.text(min_size=1, max_size=40)))


def _pooled(data: DataObject, pool: list[str], shaped: st.SearchStrategy[str],
            mutate: bool) -> str:
    """Garbage, a token-shaped string, or (by index: the draws never depend on the pool's
    state, which Hypothesis requires) a real one seen earlier, possibly mutated."""
    kind = data.draw(st.sampled_from(["text", "shaped", "real", "real", "mutated"]))
    index = data.draw(st.integers(0, 19))
    text, token_shaped = str(data.draw(texts)), str(data.draw(shaped))  # drawn every time
    if kind == "text" or (kind != "shaped" and not pool):
        return text
    if kind == "shaped":
        return token_shaped
    real = pool[-1 - index % len(pool)]
    if kind == "mutated" and mutate:
        return real[:-1] + ("0" if real[-1] != "0" else "1")
    return real


def _lease_token(data: DataObject, t: Target) -> str:
    return _pooled(data, t.leases, shaped_leases, mutate=True)


def _session_id(data: DataObject, t: Target) -> str:
    return _pooled(data, t.sessions, shaped_sessions, mutate=True)


def request_for(method: str, data: DataObject, t: Target) -> Message:
    draw = data.draw
    if method == "Acquire":
        req = pb.AcquireRequest(key=draw(texts), owner=draw(texts), request_id=draw(texts),
                                metadata=draw(metadata))
        for name, value in (("ttl", draw(ttls)), ("wait", draw(waits))):
            if value is not None:
                getattr(req, name).CopyFrom(value)
        if draw(st.booleans()):
            req.session_id = _session_id(data, t)
        return req
    if method == "KeepAlive":
        if draw(st.booleans()):
            return pb.KeepAliveRequest(session_id=_session_id(data, t), metadata=draw(metadata))
        return pb.KeepAliveRequest(lease_token=_lease_token(data, t), metadata=draw(metadata))
    if method == "Release":
        return pb.ReleaseRequest(lease_token=_lease_token(data, t))
    if method == "OpenSession":
        req2 = pb.OpenSessionRequest(owner=draw(texts))
        ttl = draw(ttls)
        if ttl is not None:
            req2.ttl.CopyFrom(ttl)
        return req2
    if method == "CloseSession":
        return pb.CloseSessionRequest(session_id=_session_id(data, t))
    if method == "Status":
        which = draw(st.sampled_from(["key", "prefix", None]))
        req3 = pb.StatusRequest(page_size=draw(st.integers(-(2**31), 2**31 - 1)),
                                page_token=draw(st.one_of(texts, b64)))
        if which is not None:
            setattr(req3, which, draw(texts))
        return req3
    return pb.ForceReleaseRequest(key=draw(texts), tenant=draw(texts), reason=draw(texts))


def credential(data: DataObject, t: Target) -> list[tuple[str, str]]:
    if not t.auth:
        return []
    choice = data.draw(st.one_of(
        st.sampled_from([*t.keys.values()]), st.sampled_from([None, *t.keys.values()]),
        st.from_regex(r"[A-Za-z0-9._-]{0,60}", fullmatch=True)))
    if choice is None:
        return []
    scheme = data.draw(st.sampled_from(["Bearer ", "Bearer ", "bearer ", "Basic ", ""]))
    return [("authorization", scheme + choice)]


# --- the property ----------------------------------------------------------------------------


async def _snapshot(t: Target) -> list[Any]:
    md = [("authorization", f"Bearer {t.keys['ops:admin']}")] if t.auth else []
    state, page = [], ""
    while True:
        # Instrumentation, not a fuzzed call: generous on a machine shared by many runs.
        resp = await t.c.stub.Status(pb.StatusRequest(page_size=1000, page_token=page),
                                     timeout=3 * CALL_TIMEOUT, metadata=md)
        state += [(s.key, s.holder.owner, s.holder.fencing_token,
                   sorted(s.holder.metadata.items()), [w.owner for w in s.waiters])
                  for s in resp.locks]
        if not resp.next_page_token:
            return state
        page = resp.next_page_token


async def _settled(t: Target) -> list[Any]:
    """The state once it stops moving: an OK call may leave cleanups in flight (a queued
    Acquire that answered `busy` leaves its queue just after), which a refused call that
    follows must not be blamed for."""
    last = await _snapshot(t)
    for _ in range(100):
        await asyncio.sleep(0.02)
        now = await _snapshot(t)
        if now == last:
            return now
        last = now
    raise AssertionError("the lock state kept changing for over 2 s after an OK call")


async def _tidy(t: Target) -> None:
    """Every CLEANUP_EVERY cases: release what the run holds and close its sessions
    (bookkeeping, not fuzzing), so the store stays small and Status fast."""
    md = [("authorization", f"Bearer {t.keys['ops:admin']}")] if t.auth else []
    for token in set(t.leases):
        with contextlib.suppress(grpc.aio.AioRpcError):
            await t.c.stub.Release(pb.ReleaseRequest(lease_token=token), timeout=CALL_TIMEOUT,
                                   metadata=_owner_md(t, token) or md)
    for sid in set(t.sessions):
        for cred in ([md] if not t.auth else [[("authorization", f"Bearer {k}")]
                                               for k in t.keys.values()]):
            with contextlib.suppress(grpc.aio.AioRpcError):
                await t.c.stub.CloseSession(pb.CloseSessionRequest(session_id=sid),
                                            timeout=CALL_TIMEOUT, metadata=cred)
    t.leases.clear()
    t.sessions.clear()
    t.snapshot = await _settled(t)
    t.tidied = time.monotonic()


def _owner_md(t: Target, token: str) -> list[tuple[str, str]]:
    """Under auth, a lease token releases only with a key of its tenant."""
    if not t.auth:
        return []
    tenant = tokens.decode_lease(token).key.partition("/")[0]
    key = t.keys.get(f"{tenant}:locker") or t.keys["ops:admin"]
    return [("authorization", f"Bearer {key}")]


async def _one(t: Target, method: str, body: bytes, md: list[tuple[str, str]]) -> None:
    assert t.c.channel is not None
    if time.monotonic() - t.tidied > TIDY_SECONDS:
        await _tidy(t)
    call = t.c.channel.unary_unary(SERVICE + method, request_serializer=lambda b: b,
                                   response_deserializer=lambda b: b)
    started = time.monotonic()
    code, details, answer = C.OK, "", b""
    try:
        answer = await call(body, timeout=CALL_TIMEOUT, metadata=md)
    except grpc.aio.AioRpcError as exc:
        code, details = exc.code(), exc.details() or ""
    t.slowest = max(t.slowest, time.monotonic() - started)
    name = f"{method}:{code.name}"
    t.counts[name] = t.counts.get(name, 0) + 1
    assert code != C.DEADLINE_EXCEEDED, f"{method} hung ({time.monotonic() - started:.1f}s)"
    assert code == C.OK or code in REFUSALS, (method, code, details)
    if code in (C.INVALID_ARGUMENT, C.RESOURCE_EXHAUSTED):
        assert NAMED.match(details), (method, code, details)
    elif code != C.OK:
        assert details, (method, code)
    if code != C.OK:
        after = await _snapshot(t)
        assert after == t.snapshot, f"refused {method} ({code.name}: {details}) changed state"
        return
    if method in ("Acquire", "OpenSession"):
        _remember(t, method, answer)
    t.snapshot = await _settled(t)
    t.ok_calls += 1
    if t.ok_calls % CLEANUP_EVERY == 0:
        await _tidy(t)


def _remember(t: Target, method: str, answer: bytes) -> None:
    if method == "Acquire":
        resp = pb.AcquireResponse.FromString(answer)
        if resp.WhichOneof("result") == "lease":
            t.leases.append(resp.lease.lease_token)
            if resp.lease.session_id:
                t.sessions.append(resp.lease.session_id)
    else:
        t.sessions.append(pb.OpenSessionResponse.FromString(answer).session_id)


# Every call and snapshot has its own deadline, so nothing here can hang unbounded. The long
# run turns pytest-timeout off: its SIGALRM would land inside the gRPC server's event loop.
@pytest.mark.timeout(600 if EXAMPLES <= 1000 else 0)
@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_every_rpc_with_arbitrary_fields_and_bytes(target: Target, data: DataObject) -> None:
    t = target
    if not t.counts:
        t.snapshot = t.loop.run_until_complete(_settled(t))
    method = data.draw(st.sampled_from(METHODS))
    if data.draw(st.integers(0, 9)) == 0:  # one case in ten: raw bytes, mostly malformed
        body = data.draw(st.one_of(
            st.binary(max_size=300),
            st.binary(min_size=1, max_size=60).map(lambda b: b"\x0a" + bytes([len(b)]) + b)))
    else:
        body = request_for(method, data, t).SerializeToString()
    t.loop.run_until_complete(_one(t, method, body, credential(data, t)))

