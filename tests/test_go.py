"""The Go client (clients/go): `go vet`, gofmt, the freshness of its generated code, and
`go test` against real coordinators, once per backend (the embedded store and a real etcd),
plus a TLS and a mutual-TLS coordinator. The Go tests read the addresses from THREADLOCK_TEST_*
variables; go's own output is shown when they fail.

Needs Go, and scripts/setup-go.sh (pinned protoc plugins, the client's modules).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from authkit import auth_serve
from certs import make_pki
from harness import serve_process

ROOT = Path(__file__).resolve().parent.parent
GO_CLIENT = ROOT / "clients" / "go"


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        pytest.fail("go not found: the Go client's tests need Go >= 1.24 "
                    "(then run scripts/setup-go.sh)")
    return go


def _run(args: list[str], env: dict[str, str] | None = None,
         timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run a command in clients/go; fail the test with its whole output if it fails."""
    proc = subprocess.run(args, cwd=GO_CLIENT, env={**os.environ, "GOTOOLCHAIN": "local",
                                                    "GOFLAGS": "-mod=readonly", **(env or {})},
                          capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}",
                    pytrace=False)
    return proc


@pytest.fixture(scope="module")
def openai_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The project's fake OpenAI (`threadlock fake-openai`): its base_url."""
    log = (tmp_path_factory.mktemp("go-fake-openai") / "fake.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "threadlock", "fake-openai",
                             "--response-seconds", "0.5"], stdout=subprocess.PIPE, stderr=log,
                            text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "fake-openai listening on URL" once ready
    if not line.startswith("fake-openai listening on "):
        proc.kill()
        pytest.fail(f"threadlock fake-openai did not start: {line!r} (log: {log.name})")
    yield line.split()[-1]
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


@pytest.fixture(scope="module")
def tls_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A TLS and a mutual-TLS `threadlock serve` (embedded store), as THREADLOCK_TEST_* vars."""
    pki = make_pki(tmp_path_factory.mktemp("go-pki"))
    logs = tmp_path_factory.mktemp("go-tls-serve")
    server = {"THREADLOCK_TLS_CERT": str(pki.server.cert),
              "THREADLOCK_TLS_KEY": str(pki.server.key)}
    verify = grpc.ssl_channel_credentials(pki.server.ca.read_bytes())
    tls_proc, tls_address = serve_process(server, logs / "tls.log", verify)
    mutual = grpc.ssl_channel_credentials(pki.server.ca.read_bytes(),
                                          pki.client.key.read_bytes(),
                                          pki.client.cert.read_bytes())
    mtls_proc, mtls_address = serve_process(
        {**server, "THREADLOCK_TLS_CLIENT_CA": str(pki.client.ca)}, logs / "mtls.log", mutual)
    yield {"THREADLOCK_TEST_TLS_ADDRESS": tls_address,
           "THREADLOCK_TEST_MTLS_ADDRESS": mtls_address,
           "THREADLOCK_TEST_TLS_CA": str(pki.server.ca),
           "THREADLOCK_TEST_CLIENT_CERT": str(pki.client.cert),
           "THREADLOCK_TEST_CLIENT_KEY": str(pki.client.key)}
    for proc in (tls_proc, mtls_proc):
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def auth_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A coordinator with auth on, and the credentials auth_test.go uses."""
    with auth_serve(tmp_path_factory.mktemp("go-auth")) as served:
        yield {"THREADLOCK_TEST_AUTH_ADDRESS": served.address,
               "THREADLOCK_TEST_API_KEY": served.api_key, "THREADLOCK_TEST_TOKEN": served.token,
               "THREADLOCK_TEST_TOKEN_FILE": str(served.token_file)}


# A cold Go build cache makes the first compile take minutes on 2 cores (the race-enabled
# test binary most of all): beyond the suite's default per-test timeout.
@pytest.mark.timeout(900)
def test_go_vet_and_gofmt() -> None:
    _run([_go(), "vet", "./..."])
    gofmt = shutil.which("gofmt") or str(Path(_go()).with_name("gofmt"))
    unformatted = _run([gofmt, "-l", "."]).stdout.strip()
    assert unformatted == "", f"gofmt -l lists files to format:\n{unformatted}"


def test_go_generated_code_is_fresh() -> None:
    """gen/ is what buf + the pinned plugins make of protos/ now (regenerated into a temp dir)."""
    _run(["bash", "gen.sh", "--check"])


def test_go_readme_example_is_the_tested_one() -> None:
    """The README's worked example is, character for character, `respond` of
    example_openai_test.go, which the Go tests run against the fake OpenAI."""
    source = (GO_CLIENT / "example_openai_test.go").read_text()
    start = source.index("func respond(")
    tested = source[start:source.index("\n}\n", start) + 3]
    readme = (GO_CLIENT / "README.md").read_text()
    assert "```go\n" + tested + "```" in readme


@pytest.mark.timeout(900)
def test_go_client_against_the_coordinator(served: str, tls_env: dict[str, str],
                                           auth_env: dict[str, str], openai_url: str,
                                           request: pytest.FixtureRequest) -> None:
    """`go test -race` (the race detector needs cgo: scripts/setup-go.sh installs gcc)."""
    backend = request.node.callspec.params["served"]
    env = {**tls_env, **auth_env, "THREADLOCK_TEST_ADDRESS": served,
           "THREADLOCK_TEST_BACKEND": backend, "THREADLOCK_TEST_OPENAI_URL": openai_url,
           "OPENAI_API_KEY": "test", "CGO_ENABLED": "1"}
    proc = _run([_go(), "test", "-race", "-count=1", "-v", "./..."], env)
    # Every test ran and passed (none skipped): go prints one line per test.
    passed = [line for line in proc.stdout.splitlines() if line.startswith("--- PASS")]
    assert passed and "--- SKIP" not in proc.stdout, proc.stdout
