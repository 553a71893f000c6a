"""OpenTelemetry traces (docs/tracing.md): one trace runs SDK -> coordinator -> etcd, carried by
W3C `traceparent` over gRPC metadata (and HTTP headers on the Connect face).

A real coordinator on a real etcd runs in-process with an in-memory exporter of its own
(Server(config, tracing=...)); the SDK gets a tracer from a provider of the test's own (as an
application's global provider would give it). The two sides share nothing but the wire.
Whole processes (`threadlock serve` exporting OTLP): test_tracing_process.py."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest
import pytest_asyncio
from authkit import new_api_key, write_auth
from etcd_server import EtcdServer
from harness import etcd_config, eventually
from opentelemetry import context, trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from tracing_kit import Side

from threadlock.fake_openai import FakeOpenAI
from threadlock.server import Server
from threadlock.tracing import Tracing, digest
from threadlock_client import LockClient, Unauthenticated, _tracing
from threadlock_client.aio import AsyncLockClient
from threadlock_client.guard import AsyncGuardedOpenAI, GuardedOpenAI

API_KEY = "sk-test-not-to-be-traced"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI.start_in_thread(response_seconds=0.05, run_seconds=0.05) as f:
        yield f


@pytest_asyncio.fixture
async def traced(etcd: EtcdServer, key_prefix: str) -> AsyncIterator[tuple[Server, Side]]:
    """A coordinator on etcd, tracing into an in-memory exporter, with its HTTP face."""
    side = Side.make()
    config = dataclasses.replace(etcd_config(etcd.endpoint, key_prefix),
                                 http_listen="127.0.0.1:0")
    server = Server(config, tracing=Tracing(side.provider))
    await server.start()
    yield server, side
    await server.stop(0)


def _a(span: ReadableSpan) -> Mapping[str, Any]:
    return span.attributes or {}


def _parent(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def _ids(span: ReadableSpan) -> tuple[int, int]:
    assert span.context is not None
    return span.context.trace_id, span.context.span_id


def _values(spans: list[ReadableSpan]) -> list[str]:
    """Every attribute and event attribute value of `spans`, as text."""
    out = []
    for s in spans:
        out += [str(v) for v in _a(s).values()]
        for e in s.events:
            out += [str(v) for v in (e.attributes or {}).values()]
    return out


def _one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, (name, [s.name for s in spans])
    return found[0]


@pytest.mark.parametrize("face", ["sync", "async"])
async def test_one_trace_spans_sdk_coordinator_and_etcd_for_a_guarded_call(
        face: str, sdk: Side, traced: tuple[Server, Side], fake: FakeOpenAI) -> None:
    server, coord = traced
    address = f"127.0.0.1:{server.port}"
    conv = openai.OpenAI(base_url=fake.base_url, api_key="t").conversations.create().id
    rid = f"rid-{uuid.uuid4().hex}"
    tracer = sdk.provider.get_tracer("test")
    secrets: list[str] = [rid, API_KEY]

    def sync_work() -> None:
        with LockClient(address, owner="tracer") as locks, \
                tracer.start_as_current_span("worker"):
            guarded = GuardedOpenAI(openai.OpenAI(base_url=fake.base_url, api_key=API_KEY),
                                    locks, ttl=5)
            guarded.responses.create(conversation=conv, model="m", input="hi")
            with locks.hold(f"plain-{conv}", request_id=rid) as lease:
                secrets.append(lease.lease_token)

    async def async_work() -> None:
        async with AsyncLockClient(address, owner="tracer") as locks:
            with tracer.start_as_current_span("worker"):
                guarded = AsyncGuardedOpenAI(
                    openai.AsyncOpenAI(base_url=fake.base_url, api_key=API_KEY), locks, ttl=5)
                await guarded.responses.create(conversation=conv, model="m", input="hi")
                async with locks.hold(f"plain-{conv}", request_id=rid) as lease:
                    secrets.append(lease.lease_token)

    if face == "sync":
        await asyncio.to_thread(sync_work)
    else:
        await async_work()

    client = sdk.spans()
    worker = _one(client, "worker")
    trace_id, worker_id = _ids(worker)
    acquires = sdk.named("threadlock.acquire")
    holds = sdk.named("threadlock.hold")
    assert len(acquires) == 2 and len(holds) == 2 and len(sdk.named("threadlock.release")) == 2
    guarded_acquire, guarded_hold = acquires[0], holds[0]
    # The SDK's spans: acquire, hold, release under the worker; RPCs under them.
    for s in client:
        assert _ids(s)[0] == trace_id, s.name
    assert _parent(guarded_acquire) == worker_id and _parent(guarded_hold) == worker_id
    acquire_rpc = next(s for s in sdk.named("threadlock.v1.LockService/Acquire")
                       if _parent(s) == _ids(guarded_acquire)[1])
    assert acquire_rpc.kind == SpanKind.CLIENT
    # The guarded OpenAI call is inside the hold.
    call = _one(client, "openai responses.create")
    assert _parent(call) == _ids(guarded_hold)[1]
    assert (guarded_hold.start_time or 0) <= (call.start_time or 0) <= (call.end_time or 0) \
        <= (guarded_hold.end_time or 0)
    assert _a(guarded_acquire)["threadlock.outcome"] == "granted"
    assert _a(guarded_acquire)["threadlock.key"] == f"openai/{conv}"
    assert _a(guarded_hold)["threadlock.outcome"] == "released"

    # The coordinator's spans: its Acquire continues the SDK's RPC span; etcd under it.
    server_spans = await eventually(lambda: _finished(coord, 4))
    acquire_srv = next(s for s in server_spans if s.name == "threadlock.v1.LockService/Acquire"
                       and _parent(s) == _ids(acquire_rpc)[1])
    assert _ids(acquire_srv)[0] == trace_id and acquire_srv.kind == SpanKind.SERVER
    attrs = _a(acquire_srv)
    assert attrs["threadlock.key"] == f"openai/{conv}"
    assert attrs["threadlock.outcome"] == "granted" and attrs["threadlock.face"] == "grpc"
    assert attrs["threadlock.fencing_token"] == _a(guarded_acquire)[
        "threadlock.fencing_token"] == _a(guarded_hold)["threadlock.fencing_token"]
    assert attrs["threadlock.waited_s"] >= 0 and attrs["rpc.grpc.status_code"] == 0
    etcd_spans = [s for s in server_spans if _parent(s) == _ids(acquire_srv)[1]]
    assert etcd_spans and all(s.name.startswith("etcdserverpb.") for s in etcd_spans)
    assert all(s.kind == SpanKind.CLIENT and _ids(s)[0] == trace_id for s in etcd_spans)
    txn = next(s for s in etcd_spans if s.name == "etcdserverpb.KV/Txn")
    assert _a(txn)["db.system.name"] == "etcd"
    assert "etcd.txn.succeeded" in _a(txn)
    # Every span of the coordinator belongs to a trace the SDK started (no stray roots).
    assert {_ids(s)[0] for s in server_spans} == {trace_id}
    release_srv = [s for s in server_spans if s.name == "threadlock.v1.LockService/Release"]
    assert len(release_srv) == 2 and all(
        _a(s)["threadlock.released"] is True for s in release_srv)

    # The plain hold's request_id is recorded as a digest only; no secret anywhere.
    plain_srv = next(s for s in server_spans if _a(s).get(
        "threadlock.key") == f"plain-{conv}")
    assert _a(plain_srv)["threadlock.request_id_digest"] == digest(rid)
    values = _values(client + server_spans)
    for secret in secrets:
        assert not any(secret in v for v in values), secret


async def _finished(side: Side, at_least: int) -> list[ReadableSpan]:
    spans = side.spans()
    return spans if len(spans) >= at_least else []


async def test_http_face_continues_the_callers_trace(traced: tuple[Server, Side]) -> None:
    server, coord = traced
    trace_id, parent_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    headers = {"traceparent": f"00-{trace_id}-{parent_id}-01", "Content-Type": "application/json"}
    url = f"http://127.0.0.1:{server.http_port}/threadlock.v1.LockService/Acquire"
    data = json.dumps({"key": "http-traced", "owner": "php", "ttl": "5s"})
    async with aiohttp.ClientSession() as http, http.post(url, headers=headers,
                                                          data=data) as resp:
        body = await resp.json()
        assert resp.status == 200, body
    token = body["lease"]["leaseToken"]
    spans = await eventually(lambda: _finished(coord, 2))
    srv = next(s for s in spans if s.name == "threadlock.v1.LockService/Acquire")
    assert srv.context is not None and f"{srv.context.trace_id:032x}" == trace_id
    assert _parent(srv) == int(parent_id, 16) and srv.kind == SpanKind.SERVER
    assert _a(srv)["threadlock.face"] == "http"
    assert _a(srv)["threadlock.outcome"] == "granted"
    assert any(_parent(s) == _ids(srv)[1] and s.name.startswith("etcdserverpb.")
               for s in spans)
    assert not any(token in v for v in _values(spans))
    # etcd requests outside a call (a health check) make no span: no root trace a second.
    before = len(coord.spans())
    assert server.store is not None
    await server.store.ping(time.monotonic() + 5)
    assert len(coord.spans()) == before


async def test_sdk_without_a_provider_passes_a_current_context_on(
        traced: tuple[Server, Side]) -> None:
    """No TracerProvider in the application (the API's default): the SDK makes no span, yet a
    trace context that is current (e.g. from another instrumentation) still reaches the
    coordinator."""
    server, coord = traced
    assert _tracing._tracer() is None  # this test process never sets a global provider
    remote = SpanContext(uuid.uuid4().int >> 64 << 64 | 1, 0x1234_5678_9ABC_DEF0,
                         is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    token = context.attach(trace.set_span_in_context(NonRecordingSpan(remote)))
    try:
        async with AsyncLockClient(f"127.0.0.1:{server.port}", owner="ctx") as locks, \
                locks.hold("ctx-key"):
            pass
    finally:
        context.detach(token)
    spans = await eventually(lambda: _finished(coord, 2))
    rpc = [s for s in spans if s.kind == SpanKind.SERVER]
    assert rpc and all(_ids(s)[0] == remote.trace_id and _parent(s) == remote.span_id
                       for s in rpc if s.name.endswith(("/Acquire", "/Release")))


async def test_refused_call_is_an_error_span_with_its_code(
        traced: tuple[Server, Side], sdk: Side) -> None:
    server, coord = traced
    async with AsyncLockClient(f"127.0.0.1:{server.port}", owner="x") as locks:
        with pytest.raises(Exception, match="ttl"):
            await locks.acquire("bad-ttl", ttl=10_000_000)
    spans = await eventually(lambda: _finished(coord, 1))
    srv = spans[0]
    assert _a(srv)["threadlock.outcome"] == "invalid_argument"
    assert srv.status.status_code.name == "ERROR"
    assert _a(_one(sdk.spans(), "threadlock.acquire"))["threadlock.outcome"] != "granted"


async def test_loss_and_failed_renewals_are_events_of_the_hold(
        traced: tuple[Server, Side], sdk: Side) -> None:
    server, _ = traced
    async with AsyncLockClient(f"127.0.0.1:{server.port}", owner="x") as locks:
        lease = await locks.acquire("lost-key", ttl=3)
        async with AsyncLockClient(f"127.0.0.1:{server.port}", owner="thief") as other:
            # Released behind the holder's back: its next renewal finds the lease gone.
            assert await other.run(_release(lease.lease_token))
        assert await lease.wait_lost(timeout=20)
        await lease.release()
    (hold,) = await eventually(lambda: _ended(sdk, "threadlock.hold"))
    events = [e.name for e in hold.events]
    assert "threadlock.lease_lost" in events and "threadlock.renewal_failed" in events
    assert _a(hold)["threadlock.outcome"] == "lost"


async def test_auth_on_spans_carry_the_callers_key_and_no_credential(
        etcd: EtcdServer, key_prefix: str, tmp_path: Path, sdk: Side) -> None:
    """With auth, the key in spans is the caller's (not "<tenant>/<key>"); a refused call is a
    span with its code; no API key, lease token or session id in any span."""
    api_key, sha = new_api_key()
    path = write_auth(tmp_path / "auth.yaml", {
        "api_keys": [{"sha256": sha, "tenant": "team-a", "role": "locker"}]})
    coord = Side.make()
    config = dataclasses.replace(etcd_config(etcd.endpoint, key_prefix), auth_file=str(path))
    server = Server(config, tracing=Tracing(coord.provider))
    await server.start()
    address = f"127.0.0.1:{server.port}"
    try:
        async with AsyncLockClient(address, owner="w", api_key=api_key,
                                   use_session=True) as locks:
            async with locks.hold("conv-auth") as lease:
                secrets = [api_key, lease.lease_token]
            assert locks._session is not None
            secrets.append(locks._session.state.token)  # the session id
        # Unary: a refused unary call is a span; a stream refused at its opening has no
        # frame to trace (docs/tracing.md).
        async with AsyncLockClient(address, owner="anon", transport="unary") as anon:
            with pytest.raises(Unauthenticated):
                await anon.acquire("conv-anon")
    finally:
        await server.stop(0)
    spans = coord.spans()
    acquires = [s for s in spans if s.name == "threadlock.v1.LockService/Acquire"]
    granted = next(s for s in acquires if _a(s)["threadlock.outcome"] == "granted")
    assert _a(granted)["threadlock.key"] == "conv-auth" and _a(granted)["threadlock.in_session"]
    assert any(_a(s)["threadlock.outcome"] == "unauthenticated" for s in acquires)
    values = _values(spans + sdk.spans())
    assert not any("team-a/" in v for v in values)
    for secret in secrets:
        assert not any(secret in v for v in values), secret


def _release(token: str) -> Any:
    from threadlock_client import _protocol as proto
    return proto.release(proto.Targets(1), token, 5.0)


async def _ended(side: Side, name: str) -> list[ReadableSpan]:
    return side.named(name)
