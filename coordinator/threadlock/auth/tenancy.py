"""Tenants and roles: what an authenticated Principal may do, and the tenant's key namespace.

A tenant's keys are stored as "<tenant>/<key>"; tenant names cannot contain "/", so no caller
can name another tenant's key. Lease tokens carry the stored key (tokens.py), so a token is
checked against the caller's prefix before anything is done with it. Session ids carry no key:
under auth they travel as "<session id>.<tag>", the tag an HMAC of (tenant, session id) under
`session_secret`, so a session id handed to (or stolen by) another tenant is refused.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import logging
import secrets

from threadlock import tokens
from threadlock.auth.policy import Policy
from threadlock.auth.verify import Authenticator, Principal
from threadlock.errors import InvalidArgument, PermissionDenied, Unauthenticated

log = logging.getLogger("threadlock.auth")
audit = logging.getLogger("threadlock.audit")

SEPARATOR = "/"
LOCKER_RPCS = frozenset({"Acquire", "KeepAlive", "Release", "OpenSession", "CloseSession"})
ROLE_RPCS: dict[str, frozenset[str]] = {
    "locker": LOCKER_RPCS | {"Status", "Watch"},
    "viewer": frozenset({"Status", "Watch"}),
    "admin": LOCKER_RPCS | {"Status", "Watch", "ForceRelease"},
}

# Set by the gRPC interceptor / the HTTP face for the duration of one call.
current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "threadlock_principal", default=None)


def record(event: str, p: Principal | None, rpc: str, **fields: object) -> None:
    """One structured audit line: grant, release, denial, force_release, session_*."""
    extra = {"audit": event, "rpc": rpc, **fields}
    if p is not None:
        extra.update(tenant=p.tenant, identity=p.identity, role=p.role)
    audit.info("%s %s", event, rpc, extra=extra)


class Tenancy:
    def __init__(self, authenticator: Authenticator) -> None:
        # Without a session_secret, session ids are only good on this replica (logged once).
        self._random_secret = secrets.token_bytes(32)
        self.authenticator = authenticator

    @property
    def policy(self) -> Policy:
        return self.authenticator.policy  # follows reloads

    def principal(self, rpc: str) -> Principal:
        p = current.get()
        if p is None:  # a face that did not authenticate: refuse rather than run unscoped
            raise Unauthenticated("no credential")
        if rpc not in ROLE_RPCS.get(p.role, frozenset()):
            raise PermissionDenied(f"role {p.role!r} may not call {rpc}")
        return p

    # Keys -----------------------------------------------------------------------------------
    @staticmethod
    def prefix(p: Principal) -> str:
        return p.tenant + SEPARATOR

    def key(self, p: Principal, key: str, field: str = "key") -> str:
        return self.prefix(p) + key if key else key  # empty stays empty: validation names it

    def strip(self, p: Principal, key: str) -> str:
        prefix = self.prefix(p)
        return key[len(prefix):] if key.startswith(prefix) else key

    def check_lease_token(self, p: Principal, token: str) -> None:
        """Refuse a lease token of another tenant (InvalidArgument if not a token at all)."""
        ref = tokens.decode_lease(token)
        if not ref.key.startswith(self.prefix(p)):
            raise PermissionDenied("lease_token: belongs to another tenant; nothing was "
                                   "changed")

    # Sessions -------------------------------------------------------------------------------
    def _secret(self) -> bytes:
        return self.policy.session_secret.encode() or self._random_secret

    def _tag(self, tenant: str, session_id: str) -> str:
        mac = hmac.new(self._secret(), f"{tenant}\x00{session_id}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]

    def wrap_session(self, p: Principal, session_id: str) -> str:
        return f"{session_id}.{self._tag(p.tenant, session_id)}" if session_id else ""

    def unwrap_session(self, p: Principal, outer: str, field: str = "session_id") -> str:
        if not outer:
            raise InvalidArgument(field, "must not be empty")
        inner, _, tag = outer.rpartition(".")
        try:
            tokens.decode_session(inner, field)
        except InvalidArgument:
            tokens.decode_session(outer, field)  # InvalidArgument if not a session id at all
            inner = ""  # a bare session id: opened without auth, or its tag cut off
        if not inner or not hmac.compare_digest(tag, self._tag(p.tenant, inner)):
            raise PermissionDenied(f"{field}: not a session of tenant {p.tenant!r} (or the "
                                   "session_secret changed); nothing was changed")
        return inner
