"""The partition scenario's driver (tests/test_chaos.py starts it inside network namespace A,
having created A and B joined by one veth pair with private addresses inside them only).

Members m0 and m1, the 2 coordinator replicas and the SDK workers live in A (the members on
A's veth address, the rest on A's own loopback); m2 lives in B. Leadership is moved to m2,
then B's end of the veth goes down: the leader is cut off from the others. After `cut_for` s
the link comes back. Writes a JSON summary (the figures and the checks' inputs) to argv[2].

    ip netns exec <A> python tests/chaos/partition.py '<json config>' <summary.json>
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from etcd_cluster import EtcdCluster

from chaos.run import Chaos


def link(ns: str, dev: str, state: str) -> None:
    subprocess.run(["ip", "-n", ns, "link", "set", dev, state], check=True, timeout=30)


def main() -> None:
    cfg = json.loads(sys.argv[1])
    tmp = Path(cfg["tmp"])
    ns_b, dev_b = cfg["ns_b"], cfg["dev_b"]
    cluster = EtcdCluster(tmp / "etcd", hosts=[cfg["host_a"], cfg["host_a"], cfg["host_b"]],
                          wraps=[[], [], ["ip", "netns", "exec", ns_b]])
    chaos = Chaos(tmp / "chaos", cluster.endpoints, ttl=cfg["ttl"])
    summary: dict[str, object] = {}
    try:
        cluster.start()
        cut = cluster.members[2]
        cluster.move_leader(cut)
        summary["leader_before"] = cluster.leader().name
        chaos.start()
        chaos.start_workers(cfg["cap"])
        chaos.wait_holds(cfg["warm_holds"])
        fault = time.monotonic()
        link(ns_b, dev_b, "down")
        cut.cut = True
        summary["leader_during"] = cluster.leader().name
        time.sleep(max(fault + cfg["cut_for"] - time.monotonic(), 0))
        healed = time.monotonic()
        link(ns_b, dev_b, "up")
        cut.cut = False
        until = chaos.finish(healed + cfg["after"])
        cluster.wait_ready(cut)
        report = chaos.report()
        time.sleep(1)  # let m2 apply the last entries before comparing hashes
        summary.update({
            "holds": report.holds, "overlaps": len(report.overlaps),
            "out_of_order": len(report.out_of_order), "rejected": report.rejected,
            "lost": report.lost, "errors": dict(report.errors),
            "error_samples": report.error_samples,
            "recovery_s": round(report.longest_gap(fault, until), 2),
            "grants_before": report.grants_between(0, fault),
            "grants_during": report.grants_between(fault, healed),
            "grants_after": report.grants_between(healed, until),
            "hashkv": cluster.hashkv(), "summary": report.summary()})
    finally:
        chaos.close()
        cluster.close()
        Path(sys.argv[2]).write_text(json.dumps(summary))


if __name__ == "__main__":
    main()
