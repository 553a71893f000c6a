"""Credential -> Principal: the one check every call passes (both the gRPC interceptor and
the HTTP face call `Authenticator.authenticate`).

Order: a bearer credential (`authorization: Bearer <JWT or API key>`) if the call sent one,
else the TLS peer's certificate identities (from the transport, never from headers). A bearer
credential that fails is refused even if a certificate would match: a caller that sends a bad
token has a bug worth hearing about. Errors never contain the credential.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from threadlock.auth.policy import ApiKey, JwtIssuer, Policy, valid_tenant
from threadlock.errors import PermissionDenied, Unauthenticated

log = logging.getLogger("threadlock.auth")

JWKS_CACHE_SECONDS = 300  # a rotated issuer key is fetched on first sight of its kid anyway


@dataclass(frozen=True)
class Principal:
    tenant: str
    role: str
    identity: str  # for logs and audit: "api-key:<first 8 of sha256>", a JWT sub, a SAN
    kind: str  # "api_key", "jwt" or "mtls"


def bearer(authorization: str | None) -> str | None:
    """The credential of an `authorization` header value; None if the call sent none.
    Raises Unauthenticated for a header that is not `Bearer <credential>`."""
    if authorization is None:
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthenticated("authorization: must be `Bearer <token or API key>`")
    return credential.strip()


def _looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2 and credential.startswith("eyJ")


class Authenticator:
    """Holds the current Policy (swapped whole on reload) and the JWKS clients it needs."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._clients: dict[tuple[str, str], jwt.PyJWKClient] = {}

    def replace(self, policy: Policy) -> None:
        self.policy = policy
        self._clients = {k: c for k, c in self._clients.items()
                         if any((i.issuer, i.jwks_url) == k for i in policy.jwt)}

    async def authenticate(self, authorization: str | None,
                           peer: Sequence[tuple[str, str]]) -> Principal:
        """`peer`: the TLS client certificate's (kind, name) pairs, kind "uri" or "dns"."""
        credential = bearer(authorization)
        if credential is None:
            principal = self._mtls(peer)
            if principal is None:
                raise Unauthenticated("no credential: send `authorization: Bearer <token or "
                                      "API key>`" + (" (the client certificate's identities "
                                                     "are not in the auth file)" if peer else ""))
            return principal
        if _looks_like_jwt(credential):
            return await self._jwt(credential)
        return self._api_key(credential)

    def _api_key(self, credential: str) -> Principal:
        digest = hashlib.sha256(credential.encode()).hexdigest()
        found: ApiKey | None = None
        for key in self.policy.api_keys:  # every entry compared, in constant time each
            if hmac.compare_digest(key.sha256, digest):
                found = key
        if found is None:
            raise Unauthenticated("authorization: unknown API key")
        return Principal(found.tenant, found.role, f"api-key:{digest[:8]}", "api_key")

    def _mtls(self, peer: Sequence[tuple[str, str]]) -> Principal | None:
        for entry in self.policy.mtls:
            if (entry.kind, entry.name) in peer:
                return Principal(entry.tenant, entry.role, f"{entry.kind}:{entry.name}",
                                 "mtls")
        return None

    async def _jwt(self, token: str) -> Principal:
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Unauthenticated("authorization: malformed JWT") from None
        issuer = next((i for i in self.policy.jwt if i.issuer == unverified.get("iss")), None)
        if issuer is None:
            raise Unauthenticated("authorization: JWT issuer is not trusted")
        try:
            key = await self._signing_key(issuer, token)
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=list(issuer.algorithms), audience=issuer.audience,
                issuer=issuer.issuer, leeway=issuer.leeway,
                options={"require": ["exp", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("authorization: JWT expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated(f"authorization: JWT audience is not {issuer.audience!r}"
                                  ) from None
        except jwt.PyJWTError as exc:
            # PyJWT's messages name claims and reasons, never the token.
            raise Unauthenticated(f"authorization: JWT refused: {exc}") from None
        identity = claims.get(issuer.identity_claim)
        if not isinstance(identity, str) or not identity:
            raise Unauthenticated(f"authorization: JWT has no {issuer.identity_claim!r} claim")
        tenant = claim(claims, issuer.tenant_claim)
        if not valid_tenant(tenant):
            raise PermissionDenied(f"JWT claim {issuer.tenant_claim!r} is not a valid tenant "
                                   "name")
        role = issuer.roles.get(identity, issuer.role)
        if role == "none":
            raise PermissionDenied(f"{identity} has no role in the auth file")
        return Principal(str(tenant), role, identity, "jwt")

    async def _signing_key(self, issuer: JwtIssuer, token: str) -> Any:
        if issuer.jwks is not None:
            kid = jwt.get_unverified_header(token).get("kid")
            keys = jwt.PyJWKSet.from_dict(issuer.jwks).keys
            for k in keys:
                if kid is None or k.key_id == kid:
                    return k
            raise jwt.PyJWKClientError("no key in the JWKS matches the token's kid")
        client = self._clients.get((issuer.issuer, issuer.jwks_url))
        if client is None:
            url = issuer.jwks_url or await asyncio.to_thread(_discover, issuer.issuer)
            client = jwt.PyJWKClient(url, cache_keys=True, lifespan=JWKS_CACHE_SECONDS,
                                     timeout=5)
            self._clients[(issuer.issuer, issuer.jwks_url)] = client
        # PyJWKClient fetches with urllib (blocking): off the event loop.
        return await asyncio.to_thread(client.get_signing_key_from_jwt, token)


def _discover(issuer: str) -> str:
    """The jwks_uri of an OIDC issuer's discovery document."""
    import json
    import urllib.request

    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            doc = json.loads(answer.read())
    except (OSError, ValueError) as exc:
        raise jwt.PyJWKClientError(f"OIDC discovery at {url} failed: {exc}") from None
    uri = doc.get("jwks_uri") if isinstance(doc, dict) else None
    if not isinstance(uri, str) or not uri:
        raise jwt.PyJWKClientError(f"OIDC discovery at {url} names no jwks_uri")
    return uri


def claim(claims: dict[str, Any], path: str) -> object:
    """A claim by dotted path, where names may contain dots themselves: with
    {"kubernetes.io": {"namespace": "a"}}, "kubernetes.io.namespace" is "a"."""
    if path in claims:
        return claims[path]
    for name, value in claims.items():
        if path.startswith(name + ".") and isinstance(value, dict):
            found = claim(value, path[len(name) + 1:])
            if found is not None:
                return found
    return None
