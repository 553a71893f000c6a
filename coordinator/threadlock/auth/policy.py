"""The auth file (`--auth-file` / THREADLOCK_AUTH_FILE): who may call, as which tenant and
role, and each tenant's quotas. Parsed and validated here, once per (re)load, with errors that
name the entry at fault ("api_keys[1].role: must be one of ...").

    api_keys:                       # static keys, stored as the hex sha256 of the key
      - {sha256: 9f86d0..., tenant: team-a, role: locker}
    jwt:                            # bearer JWTs (OIDC, Kubernetes projected SA tokens)
      - issuer: https://kubernetes.default.svc.cluster.local
        audience: threadlock        # the default
        jwks_file: /etc/threadlock/jwks.json   # or jwks_url: ..., or discovery: true
        algorithms: [RS256]         # explicit; "none" and HS* are refused
        tenant_claim: kubernetes.io.namespace
        role: locker                # default role of this issuer's callers ("none": refuse)
        roles: {"system:serviceaccount:ops:admin": admin}   # by identity claim (sub)
    mtls:                           # client certificates (SAN URI/SPIFFE or DNS name)
      - {uri: "spiffe://cluster.local/ns/team-b/sa/worker", tenant: team-b, role: locker}
      - {dns: reports.team-c.svc, tenant: team-c, role: viewer}
    session_secret: <32+ random characters, the same on every replica>
    quotas:
      default: {locks_held: 1000, acquire_rate: 50}
      tenants: {team-a: {locks_held: 10}}
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from threadlock.auth.quota_spec import Quotas, parse_quotas

ROLES = ("locker", "viewer", "admin")
_TENANT = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Asymmetric only: a shared HMAC secret in the auth file would let anyone who reads it mint
# tokens, and "none" is never acceptable.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
              "EdDSA")


class AuthFileError(ValueError):
    """The auth file is missing, not YAML, or breaks the schema; the message says where."""


@dataclass(frozen=True)
class ApiKey:
    sha256: str
    tenant: str
    role: str


@dataclass(frozen=True)
class JwtIssuer:
    issuer: str
    audience: str = "threadlock"
    algorithms: tuple[str, ...] = ("RS256",)
    jwks_file: str = ""
    jwks_url: str = ""
    discovery: bool = False
    jwks: dict[str, Any] | None = None  # the jwks_file's content, read with the auth file
    tenant_claim: str = "kubernetes.io.namespace"
    identity_claim: str = "sub"
    role: str = "locker"  # "none": only identities listed in `roles` may call
    roles: dict[str, str] = field(default_factory=dict)
    leeway: float = 10.0  # seconds of clock skew allowed on exp/nbf/iat


@dataclass(frozen=True)
class MtlsIdentity:
    kind: str  # "uri" or "dns"
    name: str
    tenant: str
    role: str


@dataclass(frozen=True)
class Policy:
    api_keys: tuple[ApiKey, ...] = ()
    jwt: tuple[JwtIssuer, ...] = ()
    mtls: tuple[MtlsIdentity, ...] = ()
    session_secret: str = ""
    quotas: Quotas = field(default_factory=Quotas)


def valid_tenant(name: object) -> bool:
    return isinstance(name, str) and bool(_TENANT.match(name))


def load(path: str) -> Policy:
    """Read and validate the auth file at `path` (and the JWKS files it names)."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise AuthFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AuthFileError(f"{path}: not valid YAML: {exc}") from None
    return parse(doc, base=Path(path).parent)


def parse(doc: object, base: Path = Path(".")) -> Policy:
    top = _mapping(doc, "auth file", {"api_keys", "jwt", "mtls", "session_secret", "quotas"})
    keys = tuple(_api_key(e, f"api_keys[{i}]") for i, e in enumerate(_list(top, "api_keys")))
    issuers = tuple(_issuer(e, f"jwt[{i}]", base) for i, e in enumerate(_list(top, "jwt")))
    mtls = tuple(_mtls(e, f"mtls[{i}]") for i, e in enumerate(_list(top, "mtls")))
    if not (keys or issuers or mtls):
        raise AuthFileError("auth file: names no api_keys, jwt issuers or mtls identities, so "
                            "no caller could ever be let in")
    seen = {k.sha256 for k in keys}
    if len(seen) != len(keys):
        raise AuthFileError("api_keys: the same sha256 is listed twice")
    secret = top.get("session_secret", "")
    if not isinstance(secret, str) or (secret and len(secret) < 32):
        raise AuthFileError("session_secret: must be a string of at least 32 characters")
    try:
        quotas = parse_quotas(top.get("quotas"))
    except ValueError as exc:
        raise AuthFileError(str(exc)) from None
    return Policy(keys, issuers, mtls, secret, quotas)


def _mapping(value: object, where: str, allowed: set[str]) -> dict[str, Any]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise AuthFileError(f"{where}: must be a mapping")
    unknown = sorted(set(map(str, value)) - allowed)
    if unknown:
        raise AuthFileError(f"{where}: unknown field {unknown[0]!r} (allowed: "
                            f"{', '.join(sorted(allowed))})")
    return value


def _list(top: dict[str, Any], name: str) -> list[Any]:
    value = top.get(name) or []
    if not isinstance(value, list):
        raise AuthFileError(f"{name}: must be a list")
    return value


def _str(entry: dict[str, Any], name: str, where: str, default: str | None = None) -> str:
    value = entry.get(name, default)
    if not isinstance(value, str) or not value:
        raise AuthFileError(f"{where}.{name}: required, a non-empty string")
    return value


def _tenant_role(entry: dict[str, Any], where: str) -> tuple[str, str]:
    tenant = _str(entry, "tenant", where)
    if not valid_tenant(tenant):
        raise AuthFileError(f"{where}.tenant: {tenant!r} must be 1-63 of a-z 0-9 . _ - "
                            "(starting and ending with a letter or digit)")
    return tenant, _role(entry.get("role"), f"{where}.role")


def _role(value: object, where: str, extra: tuple[str, ...] = ()) -> str:
    if value not in (*ROLES, *extra):
        raise AuthFileError(f"{where}: must be one of {', '.join((*ROLES, *extra))}, "
                            f"got {value!r}")
    return str(value)


def _api_key(value: object, where: str) -> ApiKey:
    entry = _mapping(value, where, {"sha256", "tenant", "role", "name"})
    digest = _str(entry, "sha256", where).lower()
    if not _SHA256.match(digest):
        raise AuthFileError(f"{where}.sha256: must be 64 hex digits (sha256 of the key, e.g. "
                            "`printf %s \"$KEY\" | sha256sum`), not the key itself")
    return ApiKey(digest, *_tenant_role(entry, where))


def _mtls(value: object, where: str) -> MtlsIdentity:
    entry = _mapping(value, where, {"uri", "dns", "tenant", "role"})
    kinds = [k for k in ("uri", "dns") if k in entry]
    if len(kinds) != 1:
        raise AuthFileError(f"{where}: give exactly one of uri (e.g. a SPIFFE id) or dns")
    return MtlsIdentity(kinds[0], _str(entry, kinds[0], where), *_tenant_role(entry, where))


def _issuer(value: object, where: str, base: Path) -> JwtIssuer:
    entry = _mapping(value, where, {f.name for f in dataclasses.fields(JwtIssuer)} - {"jwks"})
    issuer = JwtIssuer(_str(entry, "issuer", where))
    changes: dict[str, Any] = {}
    for name in ("audience", "jwks_file", "jwks_url", "tenant_claim", "identity_claim"):
        if name in entry:
            changes[name] = _str(entry, name, where)
    algorithms = entry.get("algorithms", list(issuer.algorithms))
    if (not isinstance(algorithms, list) or not algorithms
            or any(a not in ALGORITHMS for a in algorithms)):
        raise AuthFileError(f"{where}.algorithms: a non-empty list of {', '.join(ALGORITHMS)}")
    changes["algorithms"] = tuple(algorithms)
    changes["discovery"] = entry.get("discovery", False)
    if not isinstance(changes["discovery"], bool):
        raise AuthFileError(f"{where}.discovery: must be true or false")
    sources = [n for n in ("jwks_file", "jwks_url") if n in changes] + (
        ["discovery"] if changes["discovery"] else [])
    if len(sources) != 1:
        raise AuthFileError(f"{where}: give exactly one of jwks_file, jwks_url or "
                            "discovery: true")
    if "jwks_file" in changes:
        changes["jwks"] = _jwks(base / changes["jwks_file"], f"{where}.jwks_file")
    if "role" in entry:
        changes["role"] = _role(entry["role"], f"{where}.role", ("none",))
    roles = entry.get("roles") or {}
    if not isinstance(roles, dict):
        raise AuthFileError(f"{where}.roles: must map identities to roles")
    changes["roles"] = {str(k): _role(v, f"{where}.roles[{k}]") for k, v in roles.items()}
    leeway = entry.get("leeway", issuer.leeway)
    if not isinstance(leeway, int | float) or not 0 <= leeway <= 300:
        raise AuthFileError(f"{where}.leeway: seconds between 0 and 300")
    changes["leeway"] = float(leeway)
    return dataclasses.replace(issuer, **changes)


def _jwks(path: Path, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise AuthFileError(f"{where}: cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise AuthFileError(f"{where}: {path} is not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list) or not doc["keys"]:
        raise AuthFileError(f"{where}: {path} is not a JWKS (an object with a non-empty "
                            "\"keys\" list)")
    return doc
