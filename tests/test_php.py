"""The PHP client (clients/php) and its Laravel middleware, tested with phpunit against the real
coordinator's HTTP/JSON (Connect) face, on both backends, and the project's fake OpenAI.

Each test runs one phpunit suite (clients/php/phpunit.xml) with THREADLOCK_TEST_HTTP_ADDRESS,
THREADLOCK_TEST_BACKEND and THREADLOCK_TEST_OPENAI_BASE_URL, and shows phpunit's output when it
fails. PHP comes from Debian (scripts/setup-php.sh); these tests never skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from authkit import auth_serve
from etcd_server import EtcdServer
from harness import serve_process

from threadlock.fake_openai import FakeOpenAI
from threadlock.local_etcd import free_port

# phpunit runs whole suites (worker processes, queue workers) on shared, noisy cores.
pytestmark = pytest.mark.timeout(600)

PHP_DIR = Path(__file__).resolve().parent.parent / "clients" / "php"
HTTP_ENV = "THREADLOCK_HTTP_LISTEN"  # the coordinator's HTTP/JSON face


def wait_http(url: str, timeout: float = 30.0) -> None:
    """Until the HTTP face answers a Status call (it starts with the gRPC port)."""
    deadline = time.monotonic() + timeout
    while True:
        request = urllib.request.Request(
            f"{url}/threadlock.v1.LockService/Status", data=b"{}", method="POST",
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                json.load(answer)
                return
        except (urllib.error.URLError, OSError) as exc:
            assert time.monotonic() < deadline, f"the HTTP face at {url} never answered: {exc}"
            time.sleep(0.1)


@pytest.fixture(scope="module", params=["memory", "etcd"])
def http_coordinator(request: pytest.FixtureRequest,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(backend, http://address) of a `threadlock serve` with its HTTP face on."""
    env = {HTTP_ENV: f"127.0.0.1:{free_port()}"}
    if request.param == "etcd":
        server: EtcdServer = request.getfixturevalue("etcd")
        env |= {"THREADLOCK_ETCD_ENDPOINTS": server.endpoint,
                "THREADLOCK_KEY_PREFIX": f"/tl-php/{uuid.uuid4().hex[:8]}/"}
    proc, _ = serve_process(env, tmp_path_factory.mktemp("php-serve") / "serve.log")
    url = f"http://{env[HTTP_ENV]}"
    try:
        wait_http(url)
        yield request.param, url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI.start_in_thread(response_seconds=0.2, run_seconds=0.3) as fake:
        yield fake


def phpunit(suite: str, coordinator: tuple[str, str], fake: FakeOpenAI,
            *extra: str) -> subprocess.CompletedProcess[str]:
    php = shutil.which("phpunit")
    assert php, "phpunit is missing: run scripts/setup-php.sh (Debian's phpunit 9.6)"
    backend, url = coordinator
    env = {**os.environ, "THREADLOCK_TEST_HTTP_ADDRESS": url, "THREADLOCK_TEST_BACKEND": backend,
           "THREADLOCK_TEST_OPENAI_BASE_URL": fake.base_url}
    done = subprocess.run([php, "--configuration", str(PHP_DIR / "phpunit.xml"),
                           "--testsuite", suite, *extra], cwd=PHP_DIR, env=env, text=True,
                          capture_output=True, timeout=900)
    assert done.returncode == 0, f"phpunit {suite} failed:\n{done.stdout}\n{done.stderr}"
    assert "OK (" in done.stdout, done.stdout  # ran tests, none skipped or risky
    return done


def test_php_client(http_coordinator: tuple[str, str], fake_openai: FakeOpenAI) -> None:
    """LockClient/Lease: grant, busy, FIFO, wait timeout, release, extend, loss, request ids,
    failover, bad input, an unreachable coordinator (tests/Client)."""
    phpunit("client", http_coordinator, fake_openai)


def test_php_laravel_middleware(http_coordinator: tuple[str, str],
                                fake_openai: FakeOpenAI) -> None:
    """ThreadLocked on the sync and database queues with artisan queue:work."""
    phpunit("laravel", http_coordinator, fake_openai, "--filter", "ThreadLockedTest")


def test_php_stress_reenactment(http_coordinator: tuple[str, str],
                                fake_openai: FakeOpenAI) -> None:
    """The seed's debug:stress-test and 10-section document generation: 0 conflicts guarded,
    some unguarded (counted by the fake OpenAI)."""
    done = phpunit("laravel", http_coordinator, fake_openai, "--filter", "StressReenactmentTest")
    reports = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    guarded = [r for r in reports if r["mode"] == "guarded"]
    unguarded = [r for r in reports if r["mode"] == "unguarded"]
    assert len(guarded) == 2 and len(unguarded) == 2, done.stderr
    assert all(r["conflicts"] == 0 for r in guarded), guarded
    assert all(r["conflicts"] > 0 for r in unguarded), unguarded


def test_php_auth(tmp_path: Path) -> None:
    """token:, tokenFile: (re-read on change) and apiKey: against a coordinator with auth on
    (tests/Auth)."""
    php = shutil.which("phpunit")
    assert php, "phpunit is missing: run scripts/setup-php.sh (Debian's phpunit 9.6)"
    with auth_serve(tmp_path) as served:
        # bootstrap.php asks for these two: the same coordinator here (memory backend).
        env = {**os.environ, "THREADLOCK_TEST_HTTP_ADDRESS": f"http://{served.http}",
               "THREADLOCK_TEST_BACKEND": "memory",
               "THREADLOCK_TEST_AUTH_HTTP_ADDRESS": f"http://{served.http}",
               "THREADLOCK_TEST_API_KEY": served.api_key, "THREADLOCK_TEST_TOKEN": served.token,
               "THREADLOCK_TEST_TOKEN_FILE": str(served.token_file)}
        done = subprocess.run([php, "--configuration", str(PHP_DIR / "phpunit.xml"),
                               "--testsuite", "auth"], cwd=PHP_DIR, env=env, text=True,
                              capture_output=True, timeout=300)
    assert done.returncode == 0, f"phpunit auth failed:\n{done.stdout}\n{done.stderr}"
    assert "OK (4 tests" in done.stdout, done.stdout
