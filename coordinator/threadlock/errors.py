"""The coordinator's errors, and the one function that maps them to gRPC status codes.

    LockError                 root; never raised itself
    ├── InvalidArgument       a request field is malformed or out of range (names the field)
    ├── NotFound              a lease token or session that does not exist (any more)
    ├── FailedPrecondition    a well-formed request that does not fit the current state
    ├── Aborted               a queued acquire whose own lease expired while it waited
    ├── Unavailable           the store (etcd) could not be reached within the deadline
    ├── Unauthenticated       auth is on and the credential is missing or not valid
    ├── PermissionDenied      the caller's role or tenant does not cover the call
    └── ResourceExhausted     a quota or limit would be exceeded (names the limit)

Busy is not an error: Acquire returns it as a normal outcome.
"""

from __future__ import annotations

import grpc


class LockError(Exception):
    """Root of every error the coordinator reports to a caller."""

    code = grpc.StatusCode.INTERNAL


class InvalidArgument(LockError):
    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class NotFound(LockError):
    code = grpc.StatusCode.NOT_FOUND


class FailedPrecondition(LockError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(LockError):
    code = grpc.StatusCode.ABORTED


class StoreFull(LockError):
    """etcd ran out of space (its NOSPACE alarm): no write succeeds until an operator
    compacts, defragments and disarms it, so retrying until the deadline would only hide the
    cause. Answered at once; nothing was written."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(LockError):
    code = grpc.StatusCode.UNAVAILABLE


class Unauthenticated(LockError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(LockError):
    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(LockError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED

    def __init__(self, limit: str, problem: str) -> None:
        super().__init__(f"{limit}: {problem}")
        self.limit = limit


def status_of(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """The gRPC status a caller sees for `exc`; anything unexpected is INTERNAL."""
    if isinstance(exc, LockError):
        return exc.code, str(exc)
    return grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}"
