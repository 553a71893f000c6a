"""The Python SDK's credentials against an auth-on coordinator, on both backends: api_key=,
token=, and token_file= re-read when the file changes (projected tokens rotate in place).
The TypeScript, Go and PHP SDKs' auth tests run in their own suites (test_typescript.py,
test_go.py, test_php.py) against `auth_served` below."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from authkit import ISSUER, Signer, new_api_key, write_auth, write_jwks
from harness import Coordinator, etcd_config, memory_config

from threadlock_client import LockClient, PermissionDenied, Unauthenticated
from threadlock_client.aio import AsyncLockClient


@dataclasses.dataclass
class Auth:
    c: Coordinator
    key: str
    viewer_key: str
    signer: Signer


@pytest_asyncio.fixture(params=["memory", "etcd"])
async def auth(request: pytest.FixtureRequest, tmp_path: Path,
               key_prefix: str) -> AsyncIterator[Auth]:
    (key, sha), (viewer, viewer_sha) = new_api_key(), new_api_key()
    signer = Signer("sdk")
    path = write_auth(tmp_path / "auth.yaml", {
        "api_keys": [{"sha256": sha, "tenant": "team-a", "role": "locker"},
                     {"sha256": viewer_sha, "tenant": "team-a", "role": "viewer"}],
        "jwt": [{"issuer": ISSUER, "jwks_file": str(write_jwks(tmp_path / "jwks.json", signer))}]})
    config = memory_config()
    if request.param == "etcd":
        config = etcd_config(request.getfixturevalue("etcd").endpoint, key_prefix)
    c = await Coordinator(dataclasses.replace(config, auth_file=str(path))).start()
    yield Auth(c, key, viewer, signer)
    await c.stop()


def k() -> str:
    return f"conv_{uuid.uuid4().hex[:8]}"


async def test_async_client_with_api_key_and_without(auth: Auth) -> None:
    key = k()
    async with (AsyncLockClient(auth.c.address, api_key=auth.key) as client,
                client.hold(key, ttl=10) as lease):
        assert lease.fencing_token > 0
        assert [s.key for s in await client.status()] == [key]
    async with AsyncLockClient(auth.c.address) as anonymous:
        with pytest.raises(Unauthenticated, match="no credential"):
            await anonymous.status()
    async with AsyncLockClient(auth.c.address, api_key=auth.viewer_key) as viewer:
        with pytest.raises(PermissionDenied, match="viewer"):
            async with viewer.hold(k(), ttl=10):
                pass


def _sync_hold(address: str, key: str, token: str) -> int:
    with LockClient(address, token=token) as client, client.hold(key, ttl=10) as lease:
        return lease.fencing_token


async def test_sync_client_with_a_jwt(auth: Auth) -> None:
    token = auth.signer.token("team-a")
    assert await asyncio.to_thread(_sync_hold, auth.c.address, k(), token=token) > 0
    with pytest.raises(Unauthenticated, match="expired"):
        await asyncio.to_thread(_sync_hold, auth.c.address, k(),
                                token=auth.signer.token("team-a", exp_in=-120))


async def test_token_file_is_re_read_when_it_rotates(auth: Auth, tmp_path: Path) -> None:
    file = tmp_path / "token"
    file.write_text(auth.signer.token("team-a", exp_in=-120) + "\n")  # expired
    async with AsyncLockClient(auth.c.address, token_file=str(file)) as client:
        with pytest.raises(Unauthenticated):
            await client.status()
        file.write_text(auth.signer.token("team-a", exp_in=600, jti="fresh") + "\n")
        assert await client.status() == []  # the rotated token, without a new client


def test_credential_options_are_checked() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        LockClient("127.0.0.1:1", token="a", api_key="b")
    with pytest.raises(ValueError, match="token_file: cannot read"):
        LockClient("127.0.0.1:1", token_file="/nonexistent/token")
    with pytest.raises(ValueError, match="api_key: must be a non-empty single line"):
        LockClient("127.0.0.1:1", api_key="a\nb")
