"""The `threadlock` client subcommands against a coordinator with auth on: no credential is
refused with UNAUTHENTICATED; $THREADLOCK_TOKEN (an API key or a JWT) and --token-file /
$THREADLOCK_TOKEN_FILE are sent as `authorization: Bearer ...`; a missing file is a usage
error naming the option."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from authkit import AuthServed, auth_serve

from threadlock import config as config_mod

CLIENT_VARS = (config_mod.CLIENT_TOKEN_ENV, config_mod.CLIENT_TOKEN_FILE_ENV)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServed]:
    with auth_serve(tmp_path_factory.mktemp("cli-auth")) as s:
        yield s


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in CLIENT_VARS}
    return subprocess.run([sys.executable, "-m", "threadlock", *args], env={**base, **env},
                          capture_output=True, text=True, timeout=60, check=False)


def test_without_a_credential_the_cli_is_unauthenticated(served: AuthServed) -> None:
    out = cli("status", "--address", served.address)
    assert out.returncode == 1 and "UNAUTHENTICATED" in out.stderr, out


def test_an_api_key_in_the_environment_is_sent(served: AuthServed) -> None:
    got = cli("acquire", "cli_key", "--owner", "ops", "--ttl", "30", "--address", served.address,
              THREADLOCK_TOKEN=served.api_key)
    assert got.returncode == 0, got
    token = got.stdout.strip()
    status = cli("status", "cli_key", "--json", "--address", served.address,
                 THREADLOCK_TOKEN=served.api_key)
    assert status.returncode == 0 and '"owner": "ops"' in status.stdout, status
    released = cli("release", token, "--address", served.address,
                   THREADLOCK_TOKEN=served.api_key)
    assert released.returncode == 0, released


def test_a_token_file_is_sent_and_the_flag_wins(served: AuthServed) -> None:
    ok = cli("status", "--address", served.address, "--token-file", str(served.token_file),
             THREADLOCK_TOKEN="not-a-valid-key")
    assert ok.returncode == 0, ok
    by_env = cli("status", "--address", served.address,
                 THREADLOCK_TOKEN_FILE=str(served.token_file))
    assert by_env.returncode == 0, by_env


def test_a_missing_token_file_names_the_option(served: AuthServed, tmp_path: Path) -> None:
    out = cli("status", "--address", served.address, "--token-file", str(tmp_path / "none"))
    assert out.returncode == 2 and "--token-file" in out.stderr, out
