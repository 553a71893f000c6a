"""OpenTelemetry traces of whole processes (docs/tracing.md): `threadlock serve` with
THREADLOCK_OTEL=1 exports OTLP/gRPC to a receiver the test starts on loopback (otlp_receiver.py),
configured by the standard OTEL_* variables only, and nothing without it; the option checks;
the SDK without OpenTelemetry installed; the overhead bench keeps running."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from etcd_server import EtcdServer
from harness import serve_process
from otlp_receiver import Receiver
from tracing_kit import Side

from threadlock import config as cfg
from threadlock.server import StartupError
from threadlock.tracing import from_config
from threadlock_client.aio import AsyncLockClient


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
    parser = argparse.ArgumentParser()
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
