"""Test kit for auth: signing keys the test makes (RSA, via `cryptography`), their JWKS, JWTs
minted with PyJWT, API keys with their sha256, auth files, and calls carrying a credential."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import jwt
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from harness import Coordinator, dur

from threadlock.v1 import lock_pb2 as pb

ISSUER = "https://issuer.test.invalid"
AUD = "threadlock"


class Signer:
    """An RSA key pair with a kid; `jwk` is its public half as a JWK."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(
            self.key.public_key()))
        self.jwk.update(kid=kid, use="sig", alg="RS256")

    def token(self, namespace: str = "team-a", sa: str = "worker", *, iss: str = ISSUER,
              aud: str = AUD, exp_in: float = 600, **extra: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": iss, "aud": aud, "iat": now, "exp": now + int(exp_in),
            "sub": f"system:serviceaccount:{namespace}:{sa}",
            "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": sa}},
            **extra}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


def new_api_key() -> tuple[str, str]:
    """(key, its hex sha256)."""
    key = "tlk_" + secrets.token_urlsafe(24)
    return key, hashlib.sha256(key.encode()).hexdigest()


def write_jwks(path: Path, *signers: Signer) -> Path:
    path.write_text(json.dumps({"keys": [s.jwk for s in signers]}))
    return path


def write_auth(path: Path, doc: dict[str, Any]) -> Path:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(doc))
    tmp.replace(path)  # atomic, as a Secret update is
    return path


def md(credential: str | None) -> list[tuple[str, str]]:
    return [] if credential is None else [("authorization", f"Bearer {credential}")]


class As:
    """Calls on `c` carrying one credential."""

    def __init__(self, c: Coordinator, credential: str | None) -> None:
        self.c = c
        self.metadata = md(credential)

    async def acquire(self, key: str, owner: str = "w", ttl: float = 10, wait: float = 0,
                      **kw: Any) -> pb.AcquireResponse:
        req = pb.AcquireRequest(key=key, owner=owner, wait=dur(wait), **kw)
        if ttl and not kw.get("session_id"):
            req.ttl.CopyFrom(dur(ttl))
        resp: pb.AcquireResponse = await self.c.stub.Acquire(req, timeout=30,
                                                             metadata=self.metadata)
        return resp

    async def lease(self, key: str, **kw: Any) -> pb.Lease:
        resp = await self.acquire(key, **kw)
        assert resp.WhichOneof("result") == "lease", resp
        return resp.lease

    async def keepalive(self, token: str = "", session_id: str = "") -> pb.KeepAliveResponse:
        req = (pb.KeepAliveRequest(session_id=session_id) if session_id
               else pb.KeepAliveRequest(lease_token=token))
        resp: pb.KeepAliveResponse = await self.c.stub.KeepAlive(req, timeout=10,
                                                                 metadata=self.metadata)
        return resp

    async def release(self, token: str) -> bool:
        resp = await self.c.stub.Release(pb.ReleaseRequest(lease_token=token), timeout=10,
                                         metadata=self.metadata)
        return bool(resp.released)

    async def open_session(self, ttl: float = 10) -> str:
        resp = await self.c.stub.OpenSession(pb.OpenSessionRequest(owner="w", ttl=dur(ttl)),
                                             timeout=10, metadata=self.metadata)
        return str(resp.session_id)

    async def close_session(self, session_id: str) -> bool:
        resp = await self.c.stub.CloseSession(pb.CloseSessionRequest(session_id=session_id),
                                              timeout=10, metadata=self.metadata)
        return bool(resp.closed)

    async def keys(self, prefix: str = "") -> list[str]:
        resp = await self.c.stub.Status(pb.StatusRequest(prefix=prefix), timeout=10,
                                        metadata=self.metadata)
        return [s.key for s in resp.locks]

    async def force_release(self, key: str, tenant: str,
                            reason: str = "stuck") -> pb.ForceReleaseResponse:
        resp: pb.ForceReleaseResponse = await self.c.stub.ForceRelease(
            pb.ForceReleaseRequest(key=key, tenant=tenant, reason=reason), timeout=10,
            metadata=self.metadata)
        return resp


def code_of(exc: grpc.aio.AioRpcError) -> grpc.StatusCode:
    code: grpc.StatusCode = exc.code()
    return code


@dataclasses.dataclass
class AuthServed:
    """A `threadlock serve` process with auth on (memory backend), for the other SDKs'
    suites: a locker API key and JWT of tenant team-a, and a file to hold a token."""

    address: str
    http: str  # host:port of its HTTP (Connect) face
    api_key: str
    token: str
    token_file: Path


@contextlib.contextmanager
def auth_serve(tmp: Path) -> Iterator[AuthServed]:
    from harness import http_face, serve_process

    signer = Signer("sdk")
    key, sha = new_api_key()
    path = write_auth(tmp / "auth.yaml", {
        "api_keys": [{"sha256": sha, "tenant": "team-a", "role": "locker"}],
        "jwt": [{"issuer": ISSUER, "jwks_file": str(write_jwks(tmp / "jwks.json", signer))}]})
    token_file = tmp / "token"
    token_file.write_text(signer.token("team-a", exp_in=3600))
    proc, address = serve_process({"THREADLOCK_AUTH_FILE": str(path)}, tmp / "auth-serve.log")
    try:
        yield AuthServed(address, http_face(address), key, signer.token("team-a", exp_in=3600),
                         token_file)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
