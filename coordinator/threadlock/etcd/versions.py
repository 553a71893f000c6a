"""Which etcd releases threadlock runs on, and the check that enforces it.

Supported: etcd >= 3.5.3. Tested on CURRENT (what scripts/setup.sh builds and the tests, bench
and serve.sh use) and on OLDEST_TESTED (a subset of the suite runs against it too).

Refused, at start-up and whenever the version is first learnt:
- 3.5.0-3.5.2: etcd's data-inconsistency bug (a member killed under load can come back with
  a different history, fixed in 3.5.3). Measured here on 3.5.1 with leader kills: grants out of
  fencing-token order and members whose hashkv differed. A lock service whose fencing tokens
  can go backwards protects nothing, so there is no override: the fix is a drop-in patch
  upgrade (3.5.x -> 3.5.3+), and a replica that refuses during a rolling upgrade starts once
  the members it asks are upgraded.
- below 3.4: not tested, and nothing older than 3.4 is maintained upstream.
Warned about: 3.4.x (works in principle, the API used exists since 3.3, but untested).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from threadlock.server_tls import StartupError

if TYPE_CHECKING:
    from threadlock.etcd.client import EtcdClient

log = logging.getLogger("threadlock.etcd")

Version = tuple[int, int, int]

CURRENT: Version = (3, 6, 17)  # keep in sync with ETCD_VERSION in scripts/setup.sh
OLDEST_TESTED: Version = (3, 5, 21)  # and ETCD_OLDEST_VERSION there
MINIMUM: Version = (3, 5, 3)
REFUSED_BELOW: Version = (3, 4, 0)
INCONSISTENCY_BUG = ((3, 5, 0), (3, 5, 2))
SUPPORTED = f"etcd >= {'.'.join(map(str, MINIMUM))}"


def parse(text: str) -> Version:
    """"3.6.17" (or "3.6.17-rc.0", "v3.6.17") as (3, 6, 17); ValueError if it is not one."""
    m = re.match(r"v?(\d+)\.(\d+)\.(\d+)", text.strip())
    if not m:
        raise ValueError(f"not an etcd version: {text!r}")
    return int(m[1]), int(m[2]), int(m[3])


def show(version: Version) -> str:
    return ".".join(map(str, version))


def refusal(version: Version) -> str | None:
    """Why threadlock must not run on this etcd, or None when it may."""
    low, high = INCONSISTENCY_BUG
    if low <= version <= high:
        return (f"etcd {show(version)} is in {show(low)}-{show(high)}, which has etcd's "
                "data-inconsistency bug (a member killed under load can diverge; fencing "
                f"tokens can go backwards): upgrade etcd to {show(MINIMUM)} or later "
                f"(threadlock supports {SUPPORTED}; tested on {show(OLDEST_TESTED)} and "
                f"{show(CURRENT)})")
    if version < REFUSED_BELOW:
        return (f"etcd {show(version)} is older than {show(REFUSED_BELOW)}, which threadlock "
                f"does not run on: upgrade etcd (threadlock supports {SUPPORTED})")
    return None


def caveat(version: Version) -> str | None:
    """A warning for a version that may run but is outside the supported range, or None."""
    if refusal(version) is None and version < MINIMUM:
        return (f"etcd {show(version)} is outside the supported range ({SUPPORTED}) and "
                "untested: upgrade etcd")
    return None


class EtcdVersionRefused(StartupError):
    """The etcd cluster runs a version threadlock refuses (see refusal())."""


async def check_members(client: EtcdClient, deadline: float) -> list[tuple[str, Version]]:
    """Ask every endpoint for its version (Maintenance.Status) and judge each: raises
    EtcdVersionRefused naming the first refused one, logs the versions otherwise. Returns
    (endpoint, version) of the members that answered: empty when none did before `deadline`
    (the caller checks again once etcd answers)."""
    found = [(endpoint, parse(text)) for endpoint, text in await client.member_versions(deadline)]
    for endpoint, version in found:
        why = refusal(version)
        if why is not None:
            raise EtcdVersionRefused(f"etcd at {endpoint}: {why}")
    for endpoint, version in found:
        warning = caveat(version)
        if warning is not None:
            log.warning("etcd at %s: %s", endpoint, warning,
                        extra={"endpoint": endpoint, "etcd_version": show(version)})
    if found:
        log.info("etcd version %s", ", ".join(f"{e}={show(v)}" for e, v in found),
                 extra={"etcd_versions": {e: show(v) for e, v in found}})
    return found
