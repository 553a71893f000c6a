"""One chaos worker process: `threads` SDK workers (one sync LockClient, as a web app shares
one) taking random keys until `until` (CLOCK_MONOTONIC, shared by every process on the host),
a stop file appears, or `max_holds` per thread. Each hold writes to the FencedResource at its
start and end and is appended as one JSON line to `out`:

    {"key", "token", "start", "end", "worker", "lost", "rejected"}   a hold
    {"error": "<SDK error class>", "detail", "asked", "at", "worker"}  an acquire that failed

`start` is read once the grant arrived, `end` once the worker stopped working (before its
Release is sent, or when it learned of the loss), so two holds of one key must not overlap.

    python tests/chaos/worker.py '<json config>'
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chaos.fenced import FencedResource
from threadlock_client import LockClient, errors

BUSY_PAUSE = 0.05  # after a ThreadBusy: the wait ended, try again soon


def run_thread(client: LockClient, cfg: dict[str, Any], name: str, resource: FencedResource,
               emit: Any, stop_file: Path) -> None:
    rng = random.Random(name)
    for _ in range(int(cfg["max_holds"])):
        if time.monotonic() >= cfg["until"] or stop_file.exists():
            return
        key = rng.choice(cfg["keys"])
        asked = time.monotonic()
        try:
            lease = client.acquire(key, ttl=cfg["ttl"], wait=cfg["wait"], owner=name)
        except errors.ThreadlockError as exc:
            emit({"error": type(exc).__name__, "detail": str(exc)[:300], "asked": asked,
                  "at": time.monotonic(), "worker": name})
            time.sleep(BUSY_PAUSE if isinstance(exc, errors.ThreadBusy) else 0.2)
            continue
        start = time.monotonic()
        rejected = not resource.write(key, lease.fencing_token)
        lost = False
        work_until = start + rng.uniform(cfg["hold_min"], cfg["hold_max"])
        while time.monotonic() < work_until:  # work in slices, checking the lease between
            if lease.lost:
                lost = True
                break
            time.sleep(0.005)
        if not lost and not lease.lost:
            rejected = rejected or not resource.write(key, lease.fencing_token)
        lost = lost or lease.lost
        end = time.monotonic()
        try:
            lease.release()
        except errors.ThreadlockError as exc:
            emit({"error": "release:" + type(exc).__name__, "detail": str(exc)[:300],
                  "at": time.monotonic(), "worker": name})
        emit({"key": key, "token": lease.fencing_token, "start": start, "end": end,
              "worker": name, "lost": lost, "rejected": rejected})


def main() -> None:
    cfg = json.loads(sys.argv[1])
    out_lock = threading.Lock()
    resource = FencedResource(Path(cfg["resource"]))
    stop_file = Path(cfg["stop_file"])
    with Path(cfg["out"]).open("a", buffering=1) as out, \
            LockClient(cfg["addresses"], call_timeout=cfg.get("call_timeout", 5.0)) as client:

        def emit(record: dict[str, Any]) -> None:
            with out_lock:
                out.write(json.dumps(record) + "\n")

        threads = [threading.Thread(target=run_thread, name=f"{cfg['name']}-{i}",
                                    args=(client, cfg, f"{cfg['name']}-{i}", resource, emit,
                                          stop_file), daemon=True)
                   for i in range(int(cfg["threads"]))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

if __name__ == "__main__":
    main()
