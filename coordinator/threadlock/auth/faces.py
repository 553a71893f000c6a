"""Where each face meets the Authenticator: the gRPC server interceptor (every LockService
call passes it), and the helper the HTTP face calls for each request. Both end in
`authenticate_call`, which sets the call's Principal (tenancy.current) or raises
Unauthenticated/PermissionDenied, logged with the reason and never the credential.

Peer identities come from the transport only: gRPC's auth context (properties filled by the
TLS handshake) or the HTTP face's verified peer certificate. Health and reflection are not
intercepted: probes and grpcurl need no credential, and say nothing about locks.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import grpc
import grpc.aio

from threadlock.auth.tenancy import current, record
from threadlock.auth.verify import Authenticator
from threadlock.errors import LockError, status_of
from threadlock.interceptors import Handler, MethodWrapper

log = logging.getLogger("threadlock.auth")

# gRPC core's auth-context property names (grpc_security_constants.h).
_PEER_PROPERTIES = (("peer_spiffe_id", "uri"), ("peer_uri", "uri"), ("peer_dns", "dns"))


def grpc_peer(auth_context: Mapping[str, Sequence[bytes]]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for prop, kind in _PEER_PROPERTIES:
        for value in auth_context.get(prop, ()):
            found.append((kind, value.decode(errors="replace")))
    return found


def tls_peer(peercert: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(kind, name) of an ssl `getpeercert()` dict's subjectAltName entries."""
    found: list[tuple[str, str]] = []
    for kind, name in (peercert or {}).get("subjectAltName", ()):
        if kind in ("URI", "DNS"):
            found.append((kind.lower(), str(name)))
    return found


async def authenticate_call(authenticator: Authenticator, rpc: str,
                            authorization: str | None,
                            peer: list[tuple[str, str]]) -> contextvars.Token[Any]:
    """Authenticate one call and make its Principal current for the rest of the call (reset
    it with the returned token when the call ends)."""
    try:
        principal = await authenticator.authenticate(authorization, peer)
    except LockError as exc:
        record("denied", None, rpc, code=status_of(exc)[0].name, reason=str(exc),
               peer=[f"{k}:{n}" for k, n in peer])
        raise
    return current.set(principal)


class AuthInterceptor(MethodWrapper):
    """Wraps each LockService method's handler once; the wrapper authenticates every call."""

    def __init__(self, authenticator: Authenticator, service: str) -> None:
        super().__init__(service)
        self.authenticator = authenticator

    async def _authenticate(self, rpc: str, context: Any) -> contextvars.Token[Any]:
        """The call's principal, made current (reset the token when the call ends); a refusal
        aborts the call with its status."""
        metadata = context.invocation_metadata() or ()
        authorization = next((str(v) for k, v in metadata if k == "authorization"), None)
        try:
            return await authenticate_call(self.authenticator, rpc, authorization,
                                           grpc_peer(context.auth_context() or {}))
        except LockError as exc:
            await context.abort(*status_of(exc))
            raise  # context.abort always raises

    def wrap(self, handler: Handler, rpc: str) -> Handler:
        inner: Any = handler.unary_unary

        async def guarded(request: Any, context: Any) -> Any:
            token = await self._authenticate(rpc, context)
            try:
                return await inner(request, context)
            finally:
                current.reset(token)

        wrapped: Handler = grpc.unary_unary_rpc_method_handler(
            guarded, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)
        return wrapped

    def wrap_stream(self, handler: Handler, rpc: str) -> Handler:
        """Watch: authenticated once, when the stream opens."""
        inner: Any = handler.unary_stream

        async def guarded(request: Any, context: Any) -> Any:
            token = await self._authenticate(rpc, context)
            try:
                async for response in inner(request, context):
                    yield response
            finally:
                current.reset(token)

        wrapped: Handler = grpc.unary_stream_rpc_method_handler(
            guarded, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)
        return wrapped
