"""Enforcing a tenant's quotas (quota_spec.TenantQuota) before a call changes anything: every
refusal is ResourceExhausted naming the limit, raised before the store is written.

- key_bytes, metadata_entries, metadata_bytes: checked on the request itself.
- acquire_rate / acquire_burst: a token bucket per tenant, PER REPLICA (replicas share no
  state; with N replicas behind a balancer a tenant gets up to N times the rate).
- sessions: sessions opened through this replica and not yet closed or expired (per replica).
- locks_held, waiters: counted in the store under the tenant's prefix (whole store, all
  replicas) on every Acquire: locks_held reads at most limit+1 keys, waiters pages through
  the tenant's keys until the limit is met or the keys end. 0 (the default) turns the
  count, and its cost, off.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from threadlock.auth.quota_spec import TenantQuota
from threadlock.errors import ResourceExhausted
from threadlock.store import Store


class _Bucket:
    def __init__(self, burst: int) -> None:
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self, rate: float, burst: int) -> bool:
        now = time.monotonic()
        self.tokens = min(float(burst), self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class QuotaKeeper:
    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._sessions: dict[str, dict[str, float]] = {}  # tenant -> session -> expires

    @staticmethod
    def check_request(q: TenantQuota, key: str | None, metadata: Mapping[str, str]) -> None:
        if key is not None and len(key.encode()) > q.key_bytes:
            raise ResourceExhausted("key_bytes", f"key is {len(key.encode())} bytes; this "
                                    f"tenant's limit is {q.key_bytes}")
        if len(metadata) > q.metadata_entries:
            raise ResourceExhausted("metadata_entries", f"{len(metadata)} metadata entries; "
                                    f"this tenant's limit is {q.metadata_entries}")
        size = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
        if size > q.metadata_bytes:
            raise ResourceExhausted("metadata_bytes", f"metadata is {size} bytes; this "
                                    f"tenant's limit is {q.metadata_bytes}")

    def take_acquire(self, tenant: str, q: TenantQuota) -> None:
        bucket = self._buckets.setdefault(tenant, _Bucket(q.acquire_burst))
        if not bucket.take(q.acquire_rate, q.acquire_burst):
            raise ResourceExhausted("acquire_rate", f"over {q.acquire_rate:g} Acquire calls "
                                    f"per second (burst {q.acquire_burst}) for this tenant on "
                                    "this replica; retry with backoff")

    async def check_store(self, store: Store, prefix: str, q: TenantQuota, queueing: bool,
                          deadline: float) -> None:
        """locks_held (and, for a call that may queue, waiters) counted under `prefix`.

        Pages through the tenant's keys until a limit is reached or the keys end: waiters may
        sit on any key, so a count that stopped after the first few keys would let a tenant
        queue past its limit. The first page is just large enough to decide locks_held."""
        count_waiters = queueing and bool(q.waiters)
        if not q.locks_held and not count_waiters:
            return
        held = queued = 0
        after, page = "", max(q.locks_held, q.waiters if count_waiters else 0) + 1
        while True:
            groups, more = await store.scan(prefix, False, after, page, deadline)
            held += len(groups)
            queued += sum(len(g) - 1 for g in groups)
            if q.locks_held and held >= q.locks_held:
                raise ResourceExhausted("locks_held", f"this tenant holds or queues for "
                                        f"{held} keys; its limit is {q.locks_held}")
            if count_waiters and queued >= q.waiters:
                raise ResourceExhausted("waiters", f"this tenant has {queued} queued "
                                        f"Acquires; its limit is {q.waiters}")
            if not more or not groups or not count_waiters:
                return
            after, page = groups[-1][0].key, 500

    # Sessions (per replica) ------------------------------------------------------------------
    def check_session(self, tenant: str, q: TenantQuota) -> None:
        now = time.monotonic()
        open_ = self._sessions.setdefault(tenant, {})
        for sid in [s for s, until in open_.items() if until <= now]:
            del open_[sid]
        if len(open_) >= q.sessions:
            raise ResourceExhausted("sessions", f"this tenant has {len(open_)} open sessions "
                                    f"on this replica; its limit is {q.sessions}")

    def session_alive(self, tenant: str, session_id: str, ttl: float) -> None:
        self._sessions.setdefault(tenant, {})[session_id] = time.monotonic() + ttl

    def session_closed(self, tenant: str, session_id: str) -> None:
        self._sessions.get(tenant, {}).pop(session_id, None)
