"""Opaque tokens handed to callers: a lease token names one contender key (a holder or a
waiter) and its lease; a session id names a session lease. Both are protobuf messages in
URL-safe base64 behind a version prefix, so a replica needs no state to act on them. Their
random part (or a hash of the caller's request_id) makes them unguessable."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from threadlock.errors import InvalidArgument
from threadlock.internal import state_pb2

_LEASE_PREFIX = "tl1."
_SESSION_PREFIX = "ts1."


@dataclass(frozen=True)
class LeaseRef:
    """Names one contender: `key`'s entry `uid`, created at `revision` under `lease`."""

    key: str
    uid: str
    lease: int
    revision: int
    session: bool = False


@dataclass(frozen=True)
class SessionRef:
    lease: int
    nonce: str


def new_uid(key: str, request_id: str) -> str:
    """A contender's name: derived from request_id when given (so a retry finds its own entry
    again), else random."""
    if request_id:
        digest = hashlib.sha256(f"{key}\x00{request_id}".encode()).hexdigest()
        return "r" + digest[:32]
    return "n" + secrets.token_hex(16)


def new_nonce() -> str:
    return secrets.token_hex(16)


def _pack(prefix: str, msg: state_pb2.LeaseToken | state_pb2.SessionToken) -> str:
    return prefix + base64.urlsafe_b64encode(msg.SerializeToString()).decode().rstrip("=")


def _unpack(field: str, token: str, prefix: str, what: str) -> bytes:
    if not token:
        raise InvalidArgument(field, "must not be empty")
    if not token.startswith(prefix) or len(token) > 2048:
        raise InvalidArgument(field, f"is not a threadlock {what}")
    body = token[len(prefix):]
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidArgument(field, f"is not a threadlock {what}") from exc


def encode_lease(ref: LeaseRef) -> str:
    return _pack(_LEASE_PREFIX, state_pb2.LeaseToken(
        key=ref.key, uid=ref.uid, lease=ref.lease, revision=ref.revision, session=ref.session))


def decode_lease(token: str, field: str = "lease_token") -> LeaseRef:
    msg = state_pb2.LeaseToken()
    try:
        msg.ParseFromString(_unpack(field, token, _LEASE_PREFIX, "token"))
    except DecodeError as exc:
        raise InvalidArgument(field, "is not a threadlock token") from exc
    if not msg.key or not msg.uid or msg.lease <= 0 or msg.revision <= 0:
        raise InvalidArgument(field, "is not a threadlock token")
    return LeaseRef(msg.key, msg.uid, msg.lease, msg.revision, msg.session)


def encode_session(ref: SessionRef) -> str:
    return _pack(_SESSION_PREFIX, state_pb2.SessionToken(lease=ref.lease, nonce=ref.nonce))


def decode_session(token: str, field: str = "session_id") -> SessionRef:
    msg = state_pb2.SessionToken()
    try:
        msg.ParseFromString(_unpack(field, token, _SESSION_PREFIX, "session id"))
    except DecodeError as exc:
        raise InvalidArgument(field, "is not a threadlock session id") from exc
    if msg.lease <= 0 or not msg.nonce:
        raise InvalidArgument(field, "is not a threadlock session id")
    return SessionRef(msg.lease, msg.nonce)
