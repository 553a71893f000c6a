"""Errors of the threadlock SDK, and the one function that maps gRPC failures onto them.

    ThreadlockError            root: catch this to catch everything the SDK raises
    ├── ThreadBusy             the key is held by someone else (holder, since, until, queue)
    ├── LeaseLost              a lease you held ended: renewal refused, or unreachable past TTL
    ├── ConversationLocked     OpenAI kept refusing the conversation/thread under our lease
    └── CoordinatorError       a call to the coordinator failed (.code, .details)
        ├── InvalidArgument    a request field is malformed (the message names it)
        ├── NotFound           a lease token or session that does not exist (any more)
        ├── Conflict           a request_id reused (FAILED_PRECONDITION) or superseded (ABORTED)
        └── Unavailable        no coordinator answered in time (UNAVAILABLE, DEADLINE_EXCEEDED)
"""

from __future__ import annotations

import datetime as dt

import grpc


class ThreadlockError(Exception):
    """Root of every error the SDK raises."""


class ThreadBusy(ThreadlockError):
    """The key is held by someone else; `message` is fit to show to a user."""

    def __init__(self, key: str, message: str, holder: str = "", holder_since: dt.datetime | None
                 = None, holder_until: dt.datetime | None = None, waiters: int = 0,
                 fencing_token: int = 0, metadata: dict[str, str] | None = None,
                 waited: float = 0.0) -> None:
        super().__init__(message)
        self.key = key
        self.message = message
        self.holder = holder
        self.holder_since = holder_since
        self.holder_until = holder_until
        self.waiters = waiters
        self.fencing_token = fencing_token
        self.metadata = metadata or {}
        self.waited = waited


class LeaseLost(ThreadlockError):
    """The lease on `key` ended while the code it protected was running. Stop that work: someone
    else may hold the key now (their fencing token is higher than `fencing_token`)."""

    def __init__(self, key: str, fencing_token: int, reason: str) -> None:
        super().__init__(f"lost the lock on {key!r} (fencing token {fencing_token}): {reason}")
        self.key = key
        self.fencing_token = fencing_token
        self.reason = reason


class ConversationLocked(ThreadlockError):
    """OpenAI kept answering that the conversation (or thread) is busy although we held its
    lock: some writer bypasses the coordinator, or a run outlived its holder."""

    def __init__(self, target: str, detail: str) -> None:
        super().__init__(f"{target} stayed busy at OpenAI while we held its lock: {detail}")
        self.target = target
        self.detail = detail


class CoordinatorError(ThreadlockError):
    """A coordinator call failed; `code` is the gRPC status code."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


class InvalidArgument(CoordinatorError):
    @property
    def field(self) -> str:
        """The request field the coordinator named ("ttl: must be ..." -> "ttl")."""
        return self.details.partition(":")[0]


class NotFound(CoordinatorError):
    pass


class Conflict(CoordinatorError):
    pass


class Unavailable(CoordinatorError):
    pass


class Unauthenticated(CoordinatorError):
    """The coordinator runs with auth and the credential (token=, token_file=, api_key=) is
    missing, unknown or expired."""


class PermissionDenied(CoordinatorError):
    """The credential's role or tenant does not allow the call."""


class QuotaExceeded(CoordinatorError):
    """A quota or server limit (RESOURCE_EXHAUSTED); nothing was changed."""

    @property
    def limit(self) -> str:
        """The limit the coordinator named ("acquire_rate: over ..." -> "acquire_rate")."""
        return self.details.partition(":")[0]


_BY_CODE: dict[grpc.StatusCode, type[CoordinatorError]] = {
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.RESOURCE_EXHAUSTED: QuotaExceeded,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.FAILED_PRECONDITION: Conflict,
    grpc.StatusCode.ABORTED: Conflict,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: Unavailable,
}


def from_rpc(code: grpc.StatusCode, details: str) -> CoordinatorError:
    """The SDK error for a failed RPC (the one mapping; everything else uses it)."""
    return _BY_CODE.get(code, CoordinatorError)(code, details or code.name)
