"""The `threadlock` command as a user runs it: `serve` in a process of its own (configured by
THREADLOCK_* variables), the shell subcommands, health, reflection through `buf curl`, and a
graceful exit on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from etcd_server import EtcdServer
from harness import serve_process

ROOT = Path(__file__).resolve().parent.parent
BUF = ROOT / ".tools" / "node_modules" / ".bin" / "buf"


def _cli(*args: str, address: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "THREADLOCK_ADDRESS": address}
    done = subprocess.run([sys.executable, "-m", "threadlock", *args], env=env, text=True,
                          capture_output=True, timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"threadlock {args} exited {done.returncode}: {done.stderr}")
    return done


@pytest.fixture(params=["memory", "etcd"])
def served(request: pytest.FixtureRequest, tmp_path: Path,
           key_prefix: str) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    env = {}
    if request.param == "etcd":
        etcd: EtcdServer = request.getfixturevalue("etcd")
        env = {"THREADLOCK_ETCD_ENDPOINTS": etcd.endpoint, "THREADLOCK_KEY_PREFIX": key_prefix}
    log = tmp_path / "serve.log"
    proc, address = serve_process(env, log)
    yield proc, address, log
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_shell_acquire_status_release(served: tuple[subprocess.Popen[str], str, Path]) -> None:
    _, address, _ = served
    token = _cli("acquire", "conv_cli", "--owner", "deploy@host", "--ttl", "30",
                 "--meta", "run_id=run_1", address=address).stdout.strip()
    assert token.startswith("tl1.") and "\n" not in token
    busy = _cli("acquire", "conv_cli", "--owner", "other", "--ttl", "30", address=address,
                check=False)
    assert busy.returncode == 3 and "busy" in busy.stderr and "deploy@host" in busy.stderr
    table = _cli("status", address=address).stdout
    assert "conv_cli" in table and "deploy@host" in table and "run_id" in table
    data = json.loads(_cli("status", "conv_cli", "--json", address=address).stdout)
    assert json.dumps(data).count("deploy@host") == 1
    _cli("keepalive", token, "--meta", "step=2", "--meta", "run_id=", address=address)
    data = json.loads(_cli("status", "conv_cli", "--json", address=address).stdout)
    assert data["locks"][0]["holder"]["metadata"] == {"step": "2"}  # merged; run_id deleted
    assert "released" in _cli("release", token, address=address).stdout
    bad = _cli("acquire", "conv_cli", "--owner", "x", "--ttl", "1", address=address,
               check=False)
    assert bad.returncode == 2 and "ttl" in bad.stderr


def test_reflection_serves_buf_curl(served: tuple[subprocess.Popen[str], str, Path]) -> None:
    _, address, _ = served
    assert BUF.exists(), "the Buf CLI is installed by ./scripts/setup.sh"
    body = json.dumps({"key": "conv_buf", "owner": "curl", "ttl": "30s"})
    done = subprocess.run([str(BUF), "curl", "--protocol", "grpc", "--http2-prior-knowledge",
                           "-d", body, f"http://{address}/threadlock.v1.LockService/Acquire"],
                          text=True, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lease = json.loads(done.stdout)["lease"]
    assert lease["owner"] == "curl" and int(lease["fencingToken"]) > 0


def test_sigterm_drains_and_exits_cleanly(
        served: tuple[subprocess.Popen[str], str, Path]) -> None:
    proc, address, log = served
    _cli("acquire", "conv_term", "--owner", "a", "--ttl", "30", address=address)
    waiter = subprocess.Popen([sys.executable, "-m", "threadlock", "acquire", "conv_term",
                               "--owner", "b", "--ttl", "30", "--wait", "60", "--timeout", "90",
                               "--address", address], text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    time.sleep(0.5)  # let the waiter queue; the test holds either way
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    # The queued call was answered (not left hanging) when the grace period ended.
    assert waiter.wait(timeout=30) != 0
    assert "listening" in log.read_text()


def test_embedded_backend_says_so_in_its_log(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    proc, _ = serve_process({}, log)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert "in-memory" in log.read_text()
