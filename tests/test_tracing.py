"""OpenTelemetry traces (docs/tracing.md): one trace runs SDK -> coordinator -> etcd, carried by
W3C `traceparent` over gRPC metadata (and HTTP headers on the Connect face).

In-process tests run a real coordinator on a real etcd with an in-memory exporter of its own
(Server(config, tracing=...)), and give the SDK a tracer from a provider of the test's own (as
an application's global provider would); the two sides share nothing but the wire. The process
tests run `threadlock serve` with THREADLOCK_OTEL=1 exporting OTLP/gRPC to a receiver the test
starts on loopback (otlp_receiver.py), configured by the standard OTEL_* variables only."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
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
from harness import etcd_config, eventually, serve_process
from opentelemetry import context, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from otlp_receiver import Receiver

from threadlock import config as cfg
from threadlock.fake_openai import FakeOpenAI
from threadlock.server import Server, StartupError
from threadlock.tracing import Tracing, digest, from_config
from threadlock_client import LockClient, Unauthenticated, _tracing
from threadlock_client.aio import AsyncLockClient
from threadlock_client.guard import AsyncGuardedOpenAI, GuardedOpenAI

API_KEY = "sk-test-not-to-be-traced"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI.start_in_thread(response_seconds=0.05, run_seconds=0.05) as f:
        yield f


@dataclasses.dataclass
class Side:
    provider: TracerProvider
    exporter: InMemorySpanExporter

    @staticmethod
    def make() -> Side:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        return Side(provider, exporter)

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name == name]


@pytest.fixture
def sdk(monkeypatch: pytest.MonkeyPatch) -> Side:
    """The SDK's spans, recorded by a provider of this test's own."""
    side = Side.make()
    monkeypatch.setattr(_tracing, "provider", lambda: side.provider)
    return side


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


def test_overhead_bench_runs() -> None:
    """bench/tracing_overhead.py (the figures of docs/tracing.md) keeps running."""
    bench = Path(__file__).resolve().parent.parent / "bench" / "tracing_overhead.py"
    proc = subprocess.run([sys.executable, str(bench), "--quick"], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count(" us\n") == 4, proc.stdout


def test_coordinator_without_otel_imports_no_opentelemetry() -> None:
    code = (
        "import asyncio, dataclasses, sys\n"
        "from threadlock.config import Config\n"
        "from threadlock.server import Server\n"
        "async def main():\n"
        "    s = Server(dataclasses.replace(Config(), listen='127.0.0.1:0'))\n"
        "    await s.start(); await s.stop(0)\n"
        "    assert s.tracing is None\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stderr[-2000:]


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
        async with AsyncLockClient(address, owner="anon") as anon:
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


# --- the process: --otel, the OTEL_* variables, OTLP ----------------------------------------


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.mark.parametrize("otel", ["1", ""])
async def test_serve_process_exports_by_otlp_only_when_on(
        otel: str, receiver: Receiver, sdk: Side, etcd: EtcdServer, tmp_path: Path) -> None:
    env = {"THREADLOCK_ETCD_ENDPOINTS": etcd.endpoint, "THREADLOCK_OTEL": otel,
           "THREADLOCK_KEY_PREFIX": f"/tl-otel/{uuid.uuid4().hex[:8]}/",
           "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.port}",
           "OTEL_SERVICE_NAME": "threadlock-under-test"}
    proc, address = await asyncio.to_thread(serve_process, env, tmp_path / "serve.log")
    try:
        with sdk.provider.get_tracer("test").start_as_current_span("worker") as worker:
            async with AsyncLockClient(address, owner="otlp") as locks, \
                    locks.hold("otlp-key", ttl=5):
                pass
    finally:
        proc.terminate()  # a graceful stop flushes the batch of spans
        await asyncio.to_thread(proc.wait, 30)
    assert proc.returncode == 0, (tmp_path / "serve.log").read_text()[-2000:]
    if not otel:
        assert receiver.spans == []  # nothing exported, no exporter made
        return
    trace_id = f"{worker.get_span_context().trace_id:032x}"
    names = {s.name for s in receiver.spans if s.trace_id == trace_id}
    assert {"threadlock.v1.LockService/Acquire", "threadlock.v1.LockService/Release",
            "etcdserverpb.KV/Txn"} <= names, names
    assert all(s.resource["service.name"] == "threadlock-under-test" for s in receiver.spans)


def test_the_otel_option_and_exporter_variables_are_checked() -> None:
    parser = __import__("argparse").ArgumentParser()
    cfg.add_arguments(parser)
    assert cfg.from_args(parser.parse_args([]), {}).otel is False
    assert cfg.from_args(parser.parse_args([]), {"THREADLOCK_OTEL": "true"}).otel is True
    with pytest.raises(ValueError, match=r"--otel \(from THREADLOCK_OTEL\): must be on or off"):
        cfg.from_args(parser.parse_args([]), {"THREADLOCK_OTEL": "maybe"})
    assert from_config(False) is None
    with pytest.raises(StartupError, match="OTEL_TRACES_EXPORTER: must be one of"):
        from_config(True, {"OTEL_TRACES_EXPORTER": "jaeger"})
    with pytest.raises(StartupError, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
        from_config(True, {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"})
    off = from_config(True, {"OTEL_TRACES_EXPORTER": "none"})
    assert off is not None
    off.shutdown()


@pytest.mark.parametrize("served", ["etcd"], indirect=True)
def test_sdk_works_without_the_opentelemetry_api(served: str) -> None:
    """The SDK's only hard dependencies are grpcio and protobuf: with `opentelemetry` not
    importable, a hold works and sends no trace context."""
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from threadlock_client import LockClient, _tracing\n"
        "assert _tracing.trace is None\n"
        f"with LockClient({served!r}, owner='no-otel') as c, c.hold('no-otel-key') as l:\n"
        "    assert l.fencing_token > 0\n"
        "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=os.environ.copy(), check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]

