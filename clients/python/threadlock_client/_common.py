"""What the sync and async faces share besides the protocol: settings, channels, and the
read-only view of a held lease."""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc

from threadlock_client import _protocol as proto
from threadlock_client import errors
from threadlock_client._proto import lock_pb2 as pb

DEFAULT_ADDRESS = "127.0.0.1:50051"
ADDRESS_ENV = "THREADLOCK_ADDRESS"  # the CLI reads the same variable


@dataclass(frozen=True)
class Tls:
    """TLS to the coordinator: `ca` verifies it; `cert` + `key` for mutual TLS (PEM paths)."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None

    def credentials(self) -> grpc.ChannelCredentials:
        def read(path: str | None) -> bytes | None:
            return Path(path).read_bytes() if path else None
        return grpc.ssl_channel_credentials(read(self.ca), read(self.key), read(self.cert))


@dataclass(frozen=True)
class Settings:
    addresses: tuple[str, ...]
    owner: str
    tls: Tls | None
    call_timeout: float  # budget of each call, besides an Acquire's wait
    release_timeout: float  # a release after the work: fresh and bounded
    use_session: bool
    session_ttl: float

    @staticmethod
    def make(addresses: str | Sequence[str] | None, owner: str | None, tls: Tls | None,
             call_timeout: float, release_timeout: float, use_session: bool,
             session_ttl: float) -> Settings:
        if addresses is None:
            addresses = os.environ.get(ADDRESS_ENV, DEFAULT_ADDRESS)
        if isinstance(addresses, str):
            addresses = [a.strip() for a in addresses.split(",")]
        found = tuple(a for a in addresses if a)
        if not found:
            raise ValueError("addresses: give at least one coordinator address (host:port)")
        for name, value in (("call_timeout", call_timeout), ("release_timeout", release_timeout),
                            ("session_ttl", session_ttl)):
            if not value > 0:
                raise ValueError(f"{name}: must be a positive number of seconds, got {value!r}")
        check_owner(owner)
        return Settings(found, owner or default_owner(), tls, call_timeout, release_timeout,
                        use_session, session_ttl)

    def channel_options(self) -> list[tuple[str, object]]:
        return [("grpc.service_config", proto.SERVICE_CONFIG), ("grpc.enable_retries", 1),
                ("grpc.keepalive_time_ms", 30_000)]


def default_owner() -> str:
    """host:pid, what Status shows when the caller names no owner."""
    return f"{socket.gethostname()}:{os.getpid()}"


def check_owner(owner: str | None) -> None:
    """None means "host:pid"; an explicit but blank owner is a mistake, not a default."""
    if owner is not None and not owner.strip():
        raise ValueError("owner: must not be empty (omit it for the default host:pid)")


def check_hold(key: str, ttl: float, wait: float) -> None:
    """Fail before any call for what is certainly wrong; the coordinator checks the rest."""
    if not key:
        raise ValueError("key: must not be empty")
    if not ttl > 0:
        raise ValueError(f"ttl: must be a positive number of seconds, got {ttl!r}")
    if not wait >= 0:
        raise ValueError(f"wait: must be zero (fail fast) or positive seconds, got {wait!r}")


def hold_spec(settings: Settings, key: str, ttl: float, wait: float, owner: str | None,
              request_id: str, metadata: dict[str, str] | None,
              session: proto.LeaseState | None) -> proto.HoldSpec:
    check_hold(key, ttl, wait)
    check_owner(owner)
    return proto.HoldSpec(key, owner or settings.owner, ttl, wait,
                          request_id or uuid.uuid4().hex, dict(metadata or {}),
                          session.token if session else "")


def maybe_session_ended(exc: BaseException, session: proto.LeaseState | None) -> bool:
    """An Acquire refused naming the session: it may have ended (confirm with
    `_protocol.session_gone` before giving it up)."""
    return (session is not None and isinstance(exc, errors.NotFound)
            and exc.details.startswith("session_id"))


def abandon_after(exc: BaseException, caller_request_id: str) -> bool:
    """Whether an Acquire that raised `exc` may have been granted without our knowing, and
    the SDK may clean it up: no answer came (unavailable, timeout, cancellation, interrupt)
    and the request_id is the SDK's own."""
    if caller_request_id:
        return False
    return isinstance(exc, errors.Unavailable) or not isinstance(exc, errors.ThreadlockError)


def settle_release(state: proto.LeaseState, result: bool | None,
                   error: BaseException | None) -> None:
    """What a lease becomes after its Release: never renewed or reused again; lost if the
    coordinator said it held nothing any more, or if the release did not get through."""
    state.released = True
    if error is not None:
        state.lose(f"its release failed ({error}); it is no longer renewed"
                   + (" and is retried in the background" if state.parent else
                      " and lapses after its TTL"))
    elif result is None:
        state.lose("at release the coordinator said it no longer held the key (it expired "
                   "or was released by someone else)")


class LeaseView:
    """A held lock: read-only facts and loss, shared by `Lease` and `AsyncLease`."""

    def __init__(self, lease: pb.Lease, state: proto.LeaseState) -> None:
        self._pb = lease
        self._state = state

    @property
    def key(self) -> str:
        return self._pb.key

    @property
    def owner(self) -> str:
        return self._pb.owner

    @property
    def fencing_token(self) -> int:
        """Strictly increases with every grant of the key: hand it to what you protect."""
        return self._pb.fencing_token

    @property
    def lease_token(self) -> str:
        return self._pb.lease_token

    @property
    def session_id(self) -> str:
        return self._pb.session_id

    @property
    def acquired_at(self) -> dt.datetime | None:
        return proto.timestamp(self._pb.acquired_at)

    @property
    def expires_at(self) -> dt.datetime:
        """When the lease lapses unless renewed, as this SDK knows it: counted from when its
        last renewal was sent (or its session's), so never later than the coordinator's."""
        state = self._state.parent or self._state
        left = state.expires - proto.now()
        return dt.datetime.fromtimestamp(time.time() + left, tz=dt.UTC)

    @property
    def metadata(self) -> dict[str, str]:
        return dict(self._pb.metadata)

    @property
    def lost(self) -> bool:
        """True once the lease ended under us (renewal refused, or not renewed in time)."""
        return self._state.reason() is not None

    @property
    def lost_reason(self) -> str | None:
        return self._state.reason()

    def check(self) -> None:
        """A checkpoint: raise LeaseLost if the lease ended. Call it between steps of work."""
        self._state.check()

    def __repr__(self) -> str:
        lost = f", lost: {self.lost_reason}" if self.lost else ""
        return f"<{type(self).__name__} {self.key!r} token={self.fencing_token}{lost}>"
