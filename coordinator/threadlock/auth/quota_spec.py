"""Per-tenant quotas, as the auth file states them (`quotas: {default: {...}, tenants:
{name: {...}}}`): a tenant's own entry overrides the default field by field."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TenantQuota:
    # 0: not counted. Counting costs a store scan per Acquire, so it is opt-in.
    locks_held: int = 0  # keys the tenant holds or queues for at once (whole store)
    waiters: int = 0  # queued Acquires of the tenant at once (whole store)
    sessions: int = 1000  # sessions opened through this replica and still open
    acquire_rate: float = 100.0  # Acquire calls per second, per tenant, PER REPLICA
    acquire_burst: int = 200  # token bucket size of acquire_rate
    key_bytes: int = 256  # bytes of a key as the caller names it
    metadata_entries: int = 16
    metadata_bytes: int = 4096  # keys and values of one request's metadata, summed


@dataclass(frozen=True)
class Quotas:
    default: TenantQuota = field(default_factory=TenantQuota)
    tenants: dict[str, TenantQuota] = field(default_factory=dict)

    def of(self, tenant: str) -> TenantQuota:
        return self.tenants.get(tenant, self.default)


_FIELDS = {f.name: f.type for f in dataclasses.fields(TenantQuota)}


def _quota(value: object, where: str, base: TenantQuota) -> TenantQuota:
    if value is None:
        return base
    if not isinstance(value, dict):
        raise ValueError(f"{where}: must be a mapping of limits")
    changes: dict[str, Any] = {}
    for name, limit in value.items():
        if name not in _FIELDS:
            raise ValueError(f"{where}: unknown limit {name!r} (known: "
                             f"{', '.join(_FIELDS)})")
        number = isinstance(limit, int | float) and not isinstance(limit, bool)
        whole = _FIELDS[name] == "int"
        if not number or limit < 0 or (whole and limit != int(limit)):
            raise ValueError(f"{where}.{name}: must be a non-negative "
                             f"{'whole number' if whole else 'number'}, got {limit!r}")
        changes[name] = int(limit) if whole else float(limit)
    quota = dataclasses.replace(base, **changes)
    if quota.key_bytes > 447:  # 512 bytes of stored key, less the longest "tenant/" prefix
        raise ValueError(f"{where}.key_bytes: at most 447, got {quota.key_bytes}")
    return quota


def parse_quotas(value: object) -> Quotas:
    from threadlock.auth.policy import valid_tenant

    if value is None:
        return Quotas()
    if not isinstance(value, dict) or set(value) - {"default", "tenants"}:
        raise ValueError("quotas: must be a mapping with `default` and/or `tenants`")
    default = _quota(value.get("default"), "quotas.default", TenantQuota())
    tenants = value.get("tenants") or {}
    if not isinstance(tenants, dict):
        raise ValueError("quotas.tenants: must map tenant names to limits")
    out: dict[str, TenantQuota] = {}
    for name, limits in tenants.items():
        if not valid_tenant(name):
            raise ValueError(f"quotas.tenants: {name!r} is not a valid tenant name")
        out[name] = _quota(limits, f"quotas.tenants.{name}", default)
    return Quotas(default, out)
