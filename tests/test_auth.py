"""Authentication, tenants and roles (issue 13), on both backends, with JWTs signed by keys
made here and API keys stored as sha256. Quotas: test_quota.py. HTTP face and SDKs:
test_auth_faces.py."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
import pytest_asyncio
from authkit import ISSUER, As, Signer, new_api_key, write_auth, write_jwks
from harness import Coordinator, etcd_config, eventually, memory_config, rpc_error

from threadlock.auth.policy import AuthFileError, load
from threadlock.server import Server, StartupError
from threadlock.v1 import lock_pb2 as pb

UNAUTH = grpc.StatusCode.UNAUTHENTICATED
DENIED = grpc.StatusCode.PERMISSION_DENIED


@dataclass
class World:
    c: Coordinator
    path: Path
    doc: dict[str, Any]
    signer: Signer
    keys: dict[str, str]  # name -> API key

    def as_(self, name: str) -> As:
        return As(self.c, self.keys[name])


def auth_doc(tmp: Path, signer: Signer, keys: dict[str, str]) -> dict[str, Any]:
    import hashlib

    def entry(name: str, tenant: str, role: str) -> dict[str, str]:
        return {"sha256": hashlib.sha256(keys[name].encode()).hexdigest(), "tenant": tenant,
                "role": role}

    return {
        "api_keys": [entry("a", "team-a", "locker"), entry("b", "team-b", "locker"),
                     entry("viewer", "team-a", "viewer"), entry("admin", "ops", "admin")],
        "jwt": [{"issuer": ISSUER, "jwks_file": str(write_jwks(tmp / "jwks.json", signer)),
                 "algorithms": ["RS256"], "tenant_claim": "kubernetes.io.namespace",
                 "roles": {"system:serviceaccount:ops:root": "admin"}}],
        "session_secret": "s" * 40,
    }


@pytest_asyncio.fixture(params=["memory", "etcd"])
async def world(request: pytest.FixtureRequest, tmp_path: Path,
                key_prefix: str) -> AsyncIterator[World]:
    signer = Signer("k1")
    keys = {n: new_api_key()[0] for n in ("a", "b", "viewer", "admin", "spare")}
    doc = auth_doc(tmp_path, signer, keys)
    path = write_auth(tmp_path / "auth.yaml", doc)
    config = memory_config()
    if request.param == "etcd":
        config = etcd_config(request.getfixturevalue("etcd").endpoint, key_prefix)
    c = await Coordinator(dataclasses.replace(config, auth_file=str(path))).start()
    yield World(c, path, doc, signer, keys)
    await c.stop()


def key() -> str:
    return f"conv_{uuid.uuid4().hex[:8]}"


# --- authentication -------------------------------------------------------------------------


async def test_no_or_bad_credential_is_unauthenticated(world: World) -> None:
    for cred in (None, "not-a-key", world.keys["a"] + "x"):
        caller = As(world.c, cred)
        for call in (caller.acquire(key()), caller.keys(), caller.release("tl1.AAAA")):
            err = await rpc_error(call)
            assert err.code() == UNAUTH, err
    err = await rpc_error(world.c.stub.Status(pb.StatusRequest(), timeout=10,
                                              metadata=[("authorization", "Basic abc")]))
    assert err.code() == UNAUTH and "Bearer" in (err.details() or "")
    # Nothing was taken by the refused Acquires.
    assert await world.as_("admin").keys() == []


async def test_refusal_is_logged_without_the_credential(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    secret = world.keys["a"] + "typo"
    with caplog.at_level(logging.INFO, logger="threadlock.audit"):
        await rpc_error(As(world.c, secret).keys())
    denials = [r for r in caplog.records if getattr(r, "audit", "") == "denied"]
    assert denials and denials[0].reason == "authorization: unknown API key"  # type: ignore[attr-defined]
    assert all(secret not in r.getMessage() and secret not in str(vars(r))
               for r in caplog.records)


async def test_health_needs_no_credential(world: World) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    assert world.c.channel is not None
    stub = health_pb2_grpc.HealthStub(world.c.channel)
    resp = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert resp.status == health_pb2.HealthCheckResponse.SERVING


async def test_jwt_of_the_trusted_issuer_is_let_in_as_its_namespace(world: World) -> None:
    a_jwt, a_key = As(world.c, world.signer.token("team-a")), world.as_("a")
    k = key()
    await a_jwt.lease(k)
    # The JWT's tenant (its namespace) is team-a: the API key of team-a sees the same lock.
    assert k in await a_key.keys()
    busy = await a_key.acquire(k)
    assert busy.WhichOneof("result") == "busy" and busy.busy.key == k


@pytest.mark.parametrize("bad", ["expired", "wrong_aud", "wrong_iss", "unknown_key",
                                 "hs256", "alg_none"])
async def test_bad_jwts_are_unauthenticated(world: World, bad: str) -> None:
    s = world.signer
    token = {
        "expired": lambda: s.token(exp_in=-120),
        "wrong_aud": lambda: s.token(aud="someone-else"),
        "wrong_iss": lambda: s.token(iss="https://evil.invalid"),
        "unknown_key": lambda: Signer("k1").token(),  # same kid, a key not in the JWKS
        "hs256": lambda: jwt.encode({"iss": ISSUER, "aud": "threadlock", "exp": 2**31,
                                     "sub": "x", "kubernetes.io": {"namespace": "team-a"}},
                                    "k" * 32, algorithm="HS256", headers={"kid": "k1"}),
        "alg_none": lambda: jwt.encode({"iss": ISSUER, "aud": "threadlock", "exp": 2**31,
                                        "sub": "x"}, "", algorithm="none"),
    }[bad]()
    err = await rpc_error(As(world.c, token).acquire(key()))
    assert err.code() == UNAUTH, (bad, err)
    assert token not in (err.details() or "")
    assert await world.as_("admin").keys() == []


# --- tenants --------------------------------------------------------------------------------


async def test_same_key_in_two_tenants_is_two_locks(world: World) -> None:
    a, b = world.as_("a"), world.as_("b")
    k = key()
    la, lb = await a.lease(k), await b.lease(k)
    assert la.key == lb.key == k and la.lease_token != lb.lease_token
    assert await a.keys() == [k] and await b.keys() == [k]
    assert sorted(await world.as_("admin").keys()) == [f"team-a/{k}", f"team-b/{k}"]


async def test_tenant_b_cannot_see_renew_or_release_a(world: World) -> None:
    a, b = world.as_("a"), world.as_("b")
    k = key()
    lease = await a.lease(k, metadata={"run_id": "run_secret"})
    assert await b.keys() == []
    st = await world.c.stub.Status(pb.StatusRequest(key=k), timeout=10, metadata=b.metadata)
    assert list(st.locks) == []
    for call in (b.keepalive(lease.lease_token), b.release(lease.lease_token)):
        err = await rpc_error(call)
        assert err.code() == DENIED and "another tenant" in (err.details() or ""), err
    # Unchanged: A still holds it with the same fencing token, and renews it.
    assert await a.keys() == [k]
    again = await a.acquire(k)
    assert again.busy.holder.fencing_token == lease.fencing_token
    assert (await a.keepalive(lease.lease_token)).ttl.seconds == 10


async def test_tenant_b_cannot_use_a_session_of_a(world: World) -> None:
    a, b = world.as_("a"), world.as_("b")
    sid = await a.open_session()
    k = key()
    held = await a.lease(k, session_id=sid)
    assert held.session_id == sid
    for call in (b.keepalive(session_id=sid), b.close_session(sid),
                 b.acquire(key(), session_id=sid)):
        err = await rpc_error(call)
        assert err.code() == DENIED and "session_id" in (err.details() or ""), err
    # The bare session id (the tag cut off) is refused too.
    bare = sid.rpartition(".")[0]
    err = await rpc_error(a.keepalive(session_id=bare))
    assert err.code() == DENIED
    assert await a.keys() == [k] and await b.keys() == []
    assert (await a.keepalive(session_id=sid)).ttl.seconds == 10
    assert await a.close_session(sid)
    assert await eventually(lambda: _empty(a))


async def _empty(caller: As) -> bool:
    return await caller.keys() == []


async def test_tenant_cannot_name_another_tenants_key(world: World) -> None:
    a, b = world.as_("a"), world.as_("b")
    k = key()
    await a.lease(k)
    # "team-a/<k>" from team-b is team-b's key "team-a/<k>": free, not team-a's lock.
    crafted = await b.lease(f"team-a/{k}")
    assert crafted.key == f"team-a/{k}"
    assert await a.keys() == [k]


# --- roles ----------------------------------------------------------------------------------


async def test_viewer_sees_but_cannot_acquire(world: World) -> None:
    k = key()
    lease = await world.as_("a").lease(k)
    viewer = world.as_("viewer")
    assert await viewer.keys() == [k]
    for call in (viewer.acquire(key()), viewer.open_session(), viewer.release(lease.lease_token),
                 viewer.force_release(k, "team-a")):
        err = await rpc_error(call)
        assert err.code() == DENIED and "viewer" in (err.details() or ""), err
    assert await viewer.keys() == [k]


async def test_locker_cannot_force_release(world: World) -> None:
    k = key()
    await world.as_("a").lease(k)
    err = await rpc_error(world.as_("a").force_release(k, "team-a"))
    assert err.code() == DENIED
    assert await world.as_("a").keys() == [k]


async def test_admin_force_release_is_audited(world: World,
                                              caplog: pytest.LogCaptureFixture) -> None:
    a = world.as_("a")
    k = key()
    lease = await a.lease(k, ttl=300)
    admin = As(world.c, world.signer.token("ops", "root"))  # admin by the JWT's roles map
    with caplog.at_level(logging.INFO, logger="threadlock.audit"):
        resp = await admin.force_release(k, "team-a", reason="INC-1: worker stuck")
    assert resp.released and resp.owner == "w" and resp.fencing_token == lease.fencing_token
    lines = [r for r in caplog.records if getattr(r, "audit", "") == "force_release"]
    assert len(lines) == 1
    line: Any = lines[0]
    assert (line.tenant, line.identity, line.target_tenant, line.key, line.reason) == (
        "ops", "system:serviceaccount:ops:root", "team-a", k, "INC-1: worker stuck")
    err = await rpc_error(a.keepalive(lease.lease_token))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert await a.keys() == []
    err = await rpc_error(admin.force_release(k, "team-a"))
    assert err.code() == grpc.StatusCode.NOT_FOUND


async def test_grants_and_releases_are_audited(world: World,
                                               caplog: pytest.LogCaptureFixture) -> None:
    a = world.as_("a")
    k = key()
    with caplog.at_level(logging.INFO, logger="threadlock.audit"):
        lease = await a.lease(k)
        await a.release(lease.lease_token)
    events = [(r.audit, r.tenant, r.identity, r.key)  # type: ignore[attr-defined]
              for r in caplog.records if getattr(r, "audit", "") in ("grant", "release")]
    ident = events[0][2]
    assert ident.startswith("api-key:") and events == [("grant", "team-a", ident, k),
                                                       ("release", "team-a", ident, k)]


# --- reload ---------------------------------------------------------------------------------


async def test_key_rotation_by_file_reload_without_restart(world: World) -> None:
    old, new = world.keys["a"], world.keys["spare"]
    import hashlib

    doc = dict(world.doc)
    doc["api_keys"] = [dict(e) for e in doc["api_keys"]]
    doc["api_keys"][0]["sha256"] = hashlib.sha256(new.encode()).hexdigest()
    write_auth(world.path, doc)

    async def rotated() -> bool:
        try:
            await As(world.c, new).keys()
        except grpc.aio.AioRpcError:
            return False
        return True

    assert await eventually(rotated, timeout=30)
    err = await rpc_error(As(world.c, old).keys())
    assert err.code() == UNAUTH
    # A broken file keeps the policy in force: the new key still works.
    world.path.write_text("api_keys: [ {sha256: nope")
    auth = world.c.server.auth
    assert auth is not None
    auth.reloaded.clear()
    await eventually(lambda: _true(auth.reloaded.is_set()), timeout=30)
    await As(world.c, new).keys()


async def _true(value: bool) -> bool:
    return value


async def test_jwks_rotation_by_file_reload(world: World) -> None:
    fresh = Signer("k2")
    write_jwks(Path(world.doc["jwt"][0]["jwks_file"]), fresh)

    async def rotated() -> bool:
        try:
            await As(world.c, fresh.token()).keys()
        except grpc.aio.AioRpcError:
            return False
        return True

    assert await eventually(rotated, timeout=30)
    err = await rpc_error(As(world.c, world.signer.token()).keys())
    assert err.code() == UNAUTH


# --- default off, and start-up errors ------------------------------------------------------


async def test_without_auth_force_release_is_refused(coord: Coordinator) -> None:
    err = await rpc_error(coord.stub.ForceRelease(
        pb.ForceReleaseRequest(key="k", tenant="t", reason="r"), timeout=10))
    assert err.code() == DENIED and "--auth-file" in (err.details() or "")


@pytest.mark.parametrize(("text", "problem"), [
    ("api_keys: [{sha256: abc, tenant: a, role: locker}]", "api_keys[0].sha256"),
    ("api_keys: [{sha256: " + "a" * 64 + ", tenant: A/B, role: locker}]", "api_keys[0].tenant"),
    ("api_keys: [{sha256: " + "a" * 64 + ", tenant: a, role: root}]", "api_keys[0].role"),
    ("jwt: [{issuer: x, jwks_url: http://x, algorithms: [HS256]}]", "jwt[0].algorithms"),
    ("jwt: [{issuer: x}]", "exactly one of jwks_file"),
    ("{}", "no caller could ever"),
    ("apikeys: []", "unknown field 'apikeys'"),
    ("api_keys: [{sha256: " + "a" * 64 + ", tenant: a, role: locker}]\n"
     "quotas: {default: {acquire_rate: -1}}", "quotas.default.acquire_rate"),
])
def test_bad_auth_files_name_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "auth.yaml"
    path.write_text(text)
    with pytest.raises(AuthFileError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        load(str(path))


async def test_bad_auth_file_stops_start_up(tmp_path: Path) -> None:
    path = tmp_path / "auth.yaml"
    path.write_text("api_keys: [{sha256: abc, tenant: a, role: locker}]")
    server = Server(dataclasses.replace(memory_config(), auth_file=str(path)))
    with pytest.raises(StartupError, match="--auth-file: api_keys"):
        await server.start()
