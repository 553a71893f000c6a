"""The long chaos run (scripts/chaos.sh): SDK worker processes acquire locks through 2
coordinator replicas on a 3-member etcd cluster until `--acquisitions` holds are done, while
every `--kill-every` seconds the etcd leader or a coordinator replica (in turn) is SIGKILLed and
brought back. At the end: the same checks as tests/test_chaos.py (0 overlaps, fencing tokens
strictly increasing per key, no resource rejection, no Conflict), the members' hashkv, and the
longest pause without a grant after each kill. Prints one JSON summary; exits 1 if unsafe.

    scripts/chaos.sh --acquisitions 100000 --kill-every 20
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from etcd_cluster import EtcdCluster

from chaos.analysis import analyse, load
from chaos.run import Chaos


def count_holds(paths: list[Path]) -> int:
    total = 0
    for p in paths:
        if p.exists():
            with p.open("rb") as f:
                total += sum(1 for line in f if line.startswith(b'{"key"'))
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--acquisitions", type=int, default=100_000)
    ap.add_argument("--kill-every", type=float, default=20.0)
    ap.add_argument("--max-seconds", type=float, default=3 * 3600)
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--keys", type=int, default=16)
    ap.add_argument("--ttl", type=float, default=2.0)
    ap.add_argument("--dir", type=Path, default=None, help="work dir (default: a temp dir)")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="threadlock-chaos-"))
    cluster = EtcdCluster(work / "etcd")
    cluster.start()
    chaos = Chaos(work / "chaos", cluster.endpoints, ttl=args.ttl, keys=args.keys,
                  processes=args.processes, threads=args.threads, hold=(0.0, 0.002), wait=10.0)
    faults: list[tuple[str, float]] = []
    started = time.monotonic()
    try:
        chaos.start()
        until = chaos.start_workers(args.max_seconds, max_holds=10**9)
        next_kill, turn = time.monotonic() + args.kill_every, 0
        while True:
            time.sleep(1.0)
            holds = count_holds(chaos.outputs)
            now = time.monotonic()
            if holds >= args.acquisitions or now >= until or any(
                    w.poll() is not None for w in chaos.workers):
                break
            if now >= next_kill:
                if turn % 2 == 0:
                    victim = cluster.leader()
                    faults.append((f"etcd leader {victim.name}", time.monotonic()))
                    cluster.kill(victim)
                    time.sleep(5)
                    cluster.restart(victim)
                else:
                    r = chaos.replicas[(turn // 2) % len(chaos.replicas)]
                    faults.append((f"replica {r.address}", time.monotonic()))
                    chaos.kill_replica(r)
                    time.sleep(2)
                    # A restart on an overloaded machine can take long: its own startup
                    # plus etcd's health read, while a killed leader is being replaced.
                    chaos.start_replica(r, timeout=300)
                turn += 1
                next_kill = time.monotonic() + args.kill_every
                print(f"{time.monotonic() - started:7.0f}s {holds} holds; killed {faults[-1][0]}",
                      flush=True)
        chaos.stop_file.touch()
        chaos.wait_workers(120)
        ended = time.monotonic()
        report = analyse(load(chaos.outputs))
        hashes = cluster.hashkv()
    finally:
        chaos.close()
        cluster.close()
    gaps = [report.longest_gap(at, min(at + args.kill_every, ended)) for _, at in faults]
    summary = {
        "holds": report.holds, "seconds": round(ended - started), "kills": len(faults),
        "overlaps": len(report.overlaps), "out_of_order": len(report.out_of_order),
        "rejected": report.rejected, "lost": report.lost, "errors": dict(report.errors),
        "hashkv_equal": len(set(hashes.values())) == 1,
        "longest_pause_after_a_kill_s": round(max(gaps, default=0.0), 2),
        "median_pause_after_a_kill_s": round(sorted(gaps)[len(gaps) // 2], 2) if gaps else 0,
        "work_dir": str(work)}
    print(json.dumps(summary), flush=True)
    safe = (not report.overlaps and not report.out_of_order and report.rejected == 0
            and report.errors["Conflict"] == 0 and summary["hashkv_equal"])
    return 0 if safe else 1


if __name__ == "__main__":
    raise SystemExit(main())
