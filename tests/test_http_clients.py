"""Third-party clients on the HTTP port of a `threadlock serve` process, once per backend:
`buf curl --protocol connect`, plain `curl` with JSON, and Connect-ES (`createConnectTransport`
from @connectrpc/connect-node, tests/connect_es/client.mjs, with the service read from a
FileDescriptorSet that `buf build` makes here). Each acquires, sees busy, renews, reads
Status and releases; curl also sends bad JSON, unknown fields and wrong types."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from certs import Pki, make_pki
from etcd_server import EtcdServer
from harness import serve_process

from threadlock.connect_protocol import CODES
from threadlock.local_etcd import free_port

ROOT = Path(__file__).resolve().parent.parent
BUF = ROOT / ".tools" / "node_modules" / ".bin" / "buf"
CONNECT_ES = ROOT / "tests" / "connect_es"
SERVICE = "threadlock.v1.LockService"


@pytest.fixture(scope="module", params=["memory", "etcd"])
def http_served(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The HTTP base URL of a `threadlock serve` process with THREADLOCK_HTTP_LISTEN set."""
    port = free_port()
    env = {"THREADLOCK_HTTP_LISTEN": f"127.0.0.1:{port}"}
    if request.param == "etcd":
        server: EtcdServer = request.getfixturevalue("etcd")
        env |= {"THREADLOCK_ETCD_ENDPOINTS": server.endpoint,
                "THREADLOCK_KEY_PREFIX": f"/tl-http/{uuid.uuid4().hex[:8]}/"}
    proc, _ = serve_process(env, tmp_path_factory.mktemp("http-served") / "serve.log")
    yield f"http://127.0.0.1:{port}"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


@pytest.fixture(scope="session")
def descriptors(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """protos/ as a FileDescriptorSet (`buf build`), the schema Connect-ES reads."""
    out = tmp_path_factory.mktemp("descriptors") / "threadlock.binpb"
    _run([str(BUF), "build", str(ROOT / "protos"), "-o", str(out)])
    return out


@pytest.fixture(scope="session")
def connect_es() -> Path:
    """tests/connect_es with its node_modules (`npm ci` from the committed lock file, again
    only when the lock file changed)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} not found: the Connect-ES tests need Node >= 20 "
                               "(./scripts/setup.sh needs npm as well)")
    lock = (CONNECT_ES / "package-lock.json").read_bytes()
    stamp = CONNECT_ES / "node_modules" / ".threadlock-lock-sha256"
    digest = hashlib.sha256(lock).hexdigest()
    if not stamp.is_file() or stamp.read_text() != digest:
        _run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=CONNECT_ES)
        stamp.write_text(digest)
    return CONNECT_ES


def _run(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=180,
                          check=False)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout}{done.stderr}"
    return done


# --- buf curl ---------------------------------------------------------------------------------

def _buf_curl(url: str, method: str, body: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BUF), "curl", "--protocol", "connect", "--schema",
                           str(ROOT / "protos"), "-d", json.dumps(body),
                           f"{url}/{SERVICE}/{method}"],
                          capture_output=True, text=True, timeout=60, check=False)


def _buf_ok(url: str, method: str, body: dict[str, Any]) -> dict[str, Any]:
    done = _buf_curl(url, method, body)
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_buf_curl(http_served: str) -> None:
    key = f"conv_buf_{uuid.uuid4().hex[:6]}"
    lease = _buf_ok(http_served, "Acquire", {"key": key, "owner": "buf1", "ttl": "10s"})["lease"]
    busy = _buf_ok(http_served, "Acquire", {"key": key, "owner": "buf2", "ttl": "10s"})["busy"]
    assert busy["holder"]["owner"] == "buf1"
    assert busy["holder"]["fencingToken"] == lease["fencingToken"]
    assert _buf_ok(http_served, "KeepAlive", {"leaseToken": lease["leaseToken"]})["ttl"] == "10s"
    (state,) = _buf_ok(http_served, "Status", {"key": key})["locks"]
    assert state["holder"]["owner"] == "buf1"
    assert _buf_ok(http_served, "Release", {"leaseToken": lease["leaseToken"]}) == {
        "released": True}
    assert _buf_ok(http_served, "Status", {"key": key}) == {}
    refused = _buf_curl(http_served, "Acquire", {"key": "", "owner": "buf1", "ttl": "10s"})
    assert refused.returncode != 0
    error = json.loads(refused.stderr)
    assert error == {"code": "invalid_argument", "message": "key: must not be empty"}


# --- curl -------------------------------------------------------------------------------------

def _curl(url: str, method: str, body: str | bytes,
          extra: tuple[str, ...] = ()) -> tuple[int, dict[str, Any]]:
    data = body.encode() if isinstance(body, str) else body
    done = subprocess.run(["curl", "-sS", "-X", "POST", "-H", "Content-Type: application/json",
                           "--data-binary", "@-", "-w", "\n%{http_code}", *extra,
                           f"{url}/{SERVICE}/{method}"],
                          input=data, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()
    text, _, status = done.stdout.decode().rpartition("\n")
    answer: dict[str, Any] = json.loads(text)
    return int(status), answer


def test_curl_json(http_served: str) -> None:
    key = f"conv_curl_{uuid.uuid4().hex[:6]}"
    status, answer = _curl(http_served, "Acquire",
                           json.dumps({"key": key, "owner": "c1", "ttl": "10s"}))
    assert status == 200
    lease = answer["lease"]
    status, answer = _curl(http_served, "Acquire",
                           json.dumps({"key": key, "owner": "c2", "ttl": "10s"}))
    assert status == 200 and answer["busy"]["holder"]["owner"] == "c1"
    status, answer = _curl(http_served, "Status", json.dumps({"key": key}))
    assert status == 200 and answer["locks"][0]["holder"]["owner"] == "c1"
    status, answer = _curl(http_served, "Release", json.dumps({"leaseToken": lease["leaseToken"]}))
    assert (status, answer) == (200, {"released": True})
    status, answer = _curl(http_served, "KeepAlive",
                           json.dumps({"leaseToken": lease["leaseToken"]}))
    assert (status, answer["code"]) == (404, "not_found")


@pytest.mark.parametrize(("body", "field"), [
    ('{"key": "k", "owner": "c1", "ttl": "10s", "tll": "5s"}', "tll"),  # unknown field
    ('{"key": ["k"], "owner": "c1"}', "key"),  # wrong type
    ('{"key": "k", "owner": "c1", "ttl": 10}', "ttl"),
    ('{"key": "k", "owner": "c1",', "body"),  # not JSON
])
def test_curl_bad_json_names_the_field(http_served: str, body: str, field: str) -> None:
    status, answer = _curl(http_served, "Acquire", body)
    assert (status, answer["code"]) == (400, "invalid_argument")
    assert answer["message"].startswith(f"{field}:"), answer["message"]
    assert _curl(http_served, "Status", "{}")[0] == 200  # the server is fine


# --- Connect-ES -------------------------------------------------------------------------------

class ConnectEs:
    """tests/connect_es/client.mjs: one call per line in, one result per line out."""

    def __init__(self, package: Path, descriptors: Path, url: str, fmt: str,
                 tls: tuple[str, ...] = ()) -> None:
        self.proc = subprocess.Popen(["node", str(package / "client.mjs"), str(descriptors),
                                      url, fmt, *tls], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def call(self, method: str, request: dict[str, Any],
             timeout_ms: int | None = None) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        command = {"method": method, "request": request, "timeoutMs": timeout_ms}
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()  # the fixture's timeout bounds a hang
        if not line:
            assert self.proc.stderr is not None
            raise AssertionError(f"Connect-ES client died: {self.proc.stderr.read()}")
        result: dict[str, Any] = json.loads(line)
        return result

    def ok(self, method: str, request: dict[str, Any], **kw: Any) -> dict[str, Any]:
        result = self.call(method, request, **kw)
        assert "ok" in result, result
        answer: dict[str, Any] = result["ok"]
        return answer

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0


@pytest.mark.parametrize("fmt", ["json", "binary"])
def test_connect_es(http_served: str, connect_es: Path, descriptors: Path, fmt: str) -> None:
    client = ConnectEs(connect_es, descriptors, http_served, fmt)
    key = f"conv_es_{uuid.uuid4().hex[:6]}"
    lease = client.ok("Acquire", {"key": key, "owner": "es1", "ttl": "10s"})["lease"]
    busy = client.ok("Acquire", {"key": key, "owner": "es2", "ttl": "10s"})["busy"]
    assert busy["holder"]["fencingToken"] == lease["fencingToken"]
    assert client.ok("KeepAlive", {"leaseToken": lease["leaseToken"]})["ttl"] == "10s"
    (state,) = client.ok("Status", {"key": key})["locks"]
    assert state["holder"]["owner"] == "es1"
    # Connect-Timeout-Ms (the client's timeoutMs): busy just before the deadline, not after.
    start = time.monotonic()
    waited = client.ok("Acquire", {"key": key, "owner": "es2", "ttl": "10s", "wait": "60s"},
                       timeout_ms=2000)
    assert "busy" in waited and time.monotonic() - start < 2.0 + 1.0  # + node's own overhead
    session = client.ok("OpenSession", {"owner": "es3", "ttl": "15s"})["sessionId"]
    assert client.ok("KeepAlive", {"sessionId": session})["ttl"] == "15s"
    assert client.ok("CloseSession", {"sessionId": session}) == {"closed": True}
    assert client.ok("Release", {"leaseToken": lease["leaseToken"]}) == {"released": True}
    assert client.ok("Status", {"key": key}) == {}
    error = client.call("Acquire", {"key": "", "owner": "es1", "ttl": "10s"})
    assert error == {"error": {"code": "invalid_argument", "message": "key: must not be empty"}}
    gone = client.call("KeepAlive", {"leaseToken": lease["leaseToken"]})
    assert gone["error"]["code"] == "not_found"
    client.close()


def test_error_statuses_are_connect_es_own(connect_es: Path) -> None:
    """The server's code -> HTTP status table is the one Connect-ES itself uses (its
    codeToHttpStatus, the Connect protocol reference's table), for every code."""
    done = _run(["node", str(connect_es / "codes.mjs")], cwd=connect_es)
    theirs = json.loads(done.stdout)
    ours = dict(CODES.values())
    assert ours == theirs
    assert len(CODES) == len(grpc.StatusCode) - 1  # every code but OK


# --- mutual TLS with third-party clients -----------------------------------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_mutual_tls_with_curl_and_connect_es(pki: Pki, connect_es: Path, descriptors: Path,
                                            tmp_path: Path) -> None:
    port = free_port()
    env = {"THREADLOCK_HTTP_LISTEN": f"127.0.0.1:{port}",
           "THREADLOCK_TLS_CERT": str(pki.server.cert), "THREADLOCK_TLS_KEY": str(pki.server.key),
           "THREADLOCK_TLS_CLIENT_CA": str(pki.client.ca)}
    proc, _ = serve_process(env, tmp_path / "serve.log", pki.client.channel_credentials())
    try:
        url = f"https://127.0.0.1:{port}"
        mine = ("--cacert", str(pki.server.ca), "--cert", str(pki.client.cert),
                "--key", str(pki.client.key))
        status, answer = _curl(url, "Acquire", '{"key": "conv_mtls", "owner": "c1", "ttl": "10s"}',
                               mine)
        assert status == 200 and "lease" in answer
        without = subprocess.run(["curl", "-sS", "--cacert", str(pki.server.ca), "-H",
                                  "Content-Type: application/json", "-d", "{}",
                                  f"{url}/{SERVICE}/Status"],
                                 capture_output=True, text=True, timeout=60, check=False)
        assert without.returncode != 0  # no client certificate: the handshake fails
        client = ConnectEs(connect_es, descriptors, url, "json",
                           (str(pki.server.ca), str(pki.client.cert), str(pki.client.key)))
        busy = client.ok("Acquire", {"key": "conv_mtls", "owner": "es", "ttl": "10s"})["busy"]
        assert busy["holder"]["owner"] == "c1"
        client.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
