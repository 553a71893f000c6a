"""A lock holder in a process of its own, for the crash benchmark: holds KEY through the SDK
(`LockClient.hold`, which renews every ttl/3 in a thread), prints "held <fencing token>", then
sleeps until it is killed (or MAX_LIFE seconds pass, so a lost holder never lingers).

    python -m bench.holder ADDRESS KEY TTL
"""

from __future__ import annotations

import sys
import time

from threadlock_client import LockClient

MAX_LIFE = 120.0


def main(address: str, key: str, ttl: float) -> None:
    with LockClient(address, owner="doomed") as client, client.hold(key, ttl=ttl) as lease:
        print(f"held {lease.fencing_token}", flush=True)
        time.sleep(MAX_LIFE)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
