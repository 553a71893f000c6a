"""Domain types shared by the lock manager, the stores and the gRPC service, and the
validation of everything a caller sends (each failure names its field)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from threadlock.errors import InvalidArgument

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Limits:
    """Server-side bounds; configurable, with etcd's 2 s lease minimum as the floor."""

    min_ttl: int = 2
    max_ttl: int = 3600
    max_wait: float = 600.0
    max_key_bytes: int = 512
    max_owner_bytes: int = 256
    max_request_id_bytes: int = 128
    max_metadata_entries: int = 16
    max_metadata_key_bytes: int = 64
    max_metadata_value_bytes: int = 1024


@dataclass(frozen=True)
class AcquireSpec:
    key: str
    owner: str
    ttl: float  # seconds; whole after check_acquire; 0 when session is set
    wait: float  # seconds; 0 = try once
    request_id: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    session_id: str = ""


@dataclass(frozen=True)
class HolderInfo:
    owner: str
    fencing_token: int
    acquired_at: float  # unix seconds
    expires_at: float  # unix seconds; 0 if unknown
    metadata: dict[str, str]


@dataclass(frozen=True)
class WaiterInfo:
    owner: str
    position: int
    queued_at: float
    metadata: dict[str, str]


@dataclass(frozen=True)
class Grant:
    key: str
    owner: str
    lease_token: str
    fencing_token: int
    acquired_at: float
    expires_at: float
    ttl: int
    metadata: dict[str, str]
    session_id: str = ""
    # When the lease lapses at the earliest, on this replica's monotonic clock, and that
    # counted from the start of the Acquire call (Lease.valid_for).
    expires_mono: float = 0.0
    valid_for: float = 0.0


@dataclass(frozen=True)
class Busy:
    key: str
    holder: HolderInfo | None  # None if the holder left between our try and our read
    waiters: int
    waited: float

    def message(self, now: float) -> str:
        """What an end user may be shown (the seeds' "thread is busy, please wait")."""
        if self.holder is None:
            return f"{self.key} is busy with another request. Please try again in a moment."
        held = max(0, round(now - self.holder.acquired_at))
        queue = f", {self.waiters} more waiting" if self.waiters else ""
        return (f"{self.key} is busy with another request (held by {self.holder.owner} "
                f"for {held}s{queue}). Please wait for it to finish and try again.")


@dataclass(frozen=True)
class LockState:
    key: str
    holder: HolderInfo
    waiters: list[WaiterInfo]


@dataclass(frozen=True)
class SessionGrant:
    session_id: str
    expires_at: float
    ttl: int


def check_text(name: str, value: str, limit: int, *, required: bool = True) -> str:
    if not value:
        if required:
            raise InvalidArgument(name, "must not be empty")
        return value
    size = len(value.encode())
    if size > limit:
        raise InvalidArgument(name, f"must be at most {limit} bytes, got {size}")
    if _CONTROL.search(value):
        raise InvalidArgument(name, "must not contain control characters")
    return value


def check_ttl(name: str, seconds: float, limits: Limits) -> int:
    """Whole seconds (fractions round up) within [min_ttl, max_ttl]. Below the minimum is
    refused, not lengthened: a caller that asked for 1 s sized its work to 1 s."""
    if not math.isfinite(seconds) or seconds < limits.min_ttl or seconds > limits.max_ttl:
        raise InvalidArgument(
            name, f"must be between {limits.min_ttl}s and {limits.max_ttl}s, got {seconds:g}s")
    return math.ceil(seconds)


def check_wait(seconds: float, limits: Limits) -> float:
    if not math.isfinite(seconds) or seconds < 0 or seconds > limits.max_wait:
        raise InvalidArgument("wait", f"must be between 0s and {limits.max_wait:g}s, "
                                      f"got {seconds:g}s")
    return seconds


def check_metadata(metadata: dict[str, str], limits: Limits) -> dict[str, str]:
    """Acquire's metadata, or a KeepAlive update of it (where an empty value deletes)."""
    if len(metadata) > limits.max_metadata_entries:
        raise InvalidArgument("metadata", f"at most {limits.max_metadata_entries} entries, "
                                          f"got {len(metadata)}")
    for k, v in metadata.items():
        check_text("metadata key", k, limits.max_metadata_key_bytes)
        check_text(f"metadata[{k}]", v, limits.max_metadata_value_bytes, required=False)
    return dict(metadata)


def check_acquire(spec: AcquireSpec, limits: Limits) -> AcquireSpec:
    """Validate `spec` and return it with its TTL normalized to whole seconds."""
    check_text("key", spec.key, limits.max_key_bytes)
    check_text("owner", spec.owner, limits.max_owner_bytes)
    check_text("request_id", spec.request_id, limits.max_request_id_bytes, required=False)
    check_metadata(spec.metadata, limits)
    check_wait(spec.wait, limits)
    if spec.session_id:
        if spec.ttl:
            raise InvalidArgument("ttl", "must be unset when session_id is set "
                                         "(the session's TTL applies)")
        return spec
    ttl = check_ttl("ttl", spec.ttl, limits)
    return AcquireSpec(spec.key, spec.owner, ttl, spec.wait, spec.request_id,
                       dict(spec.metadata), spec.session_id)
