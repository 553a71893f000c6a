"""The chart's default etcd (`etcd.mode: bundled`, a 3-member StatefulSet with persistent
volumes) on the real node of tests/k8s_e2e.py:

- The members find each other, and the coordinators find them, by their DNS names
  (`<pod>.<release>-threadlock-etcd-peer.<ns>.svc.cluster.local`), answered by the cluster DNS
  at the node address (tests/k8s_dns.py).
- Their PersistentVolumes are the hostPath volumes tests/k8s_release.py creates
  (/var/lib/kwok-pv/<ns>/<i>: on the run's private tmpfs), made writable for etcd's user.
- A lock acquired through one coordinator pod is seen through the other.
- Deleting the etcd leader's pod keeps the service up: while the StatefulSet recreates it
  (same name and volume, a new IP), lock cycles through both coordinators keep going through
  (at least one while the member is away, and every one after), a lock with a 10 s TTL is
  renewed throughout and never lost, another member becomes leader, and the recreated pod
  rejoins as the same member (same member ID, its data kept) and catches up.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import duration_pb2
from k8s_cluster import KubeCluster
from k8s_dns import A
from k8s_e2e_kit import (
    Renewer,
    acquire,
    coordinator_pods,
    etcdctl,
    holder,
    install,
    seen_across,
    step,
    stub,
)
from k8s_node import CLUSTER_DOMAIN, NODE_IP, KubeletNode
from k8s_release import RELEASE, Release, ready

from threadlock.v1 import lock_pb2 as pb

ETCD_UID = 65532  # the chart's etcd.bundled.podSecurityContext.runAsUser


def dns_lookup(name: str) -> list[str]:
    """A records of `name` from the cluster DNS, as a pod's resolver asks for them."""
    query = struct.pack("!HHHHHH", 0x7E57, 0x0100, 1, 0, 0, 0) + b"".join(
        bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0" \
        + struct.pack("!HH", A, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(query, (NODE_IP, 53))
        data = s.recv(4096)
    answers = struct.unpack("!H", data[6:8])[0]
    body = data[len(query):]
    return [socket.inet_ntoa(body[i * 16 + 12:i * 16 + 16]) for i in range(answers)]


def etcd_pods(rel: Release) -> list[Any]:
    (sts,) = rel.find("StatefulSet")
    return sorted(rel.pods(sts["spec"]["selector"]["matchLabels"]),
                  key=lambda p: p["metadata"]["name"])


class Load(threading.Thread):
    """Acquire + Release cycles on a few keys through both coordinator pods in turn, each
    call with a deadline; records when each cycle ended and whether it went through."""

    def __init__(self, pods: list[Any]) -> None:
        super().__init__(daemon=True)
        self.stubs = [stub(p) for p in pods]
        self.results: list[tuple[float, str]] = []  # (monotonic end, "ok" or a status code)
        self._halt = threading.Event()

    def run(self) -> None:
        i = 0
        while not self._halt.is_set():
            s = self.stubs[i % len(self.stubs)]
            try:
                got = s.Acquire(pb.AcquireRequest(
                    key=f"thread_load_{i % 4}", owner="load",
                    ttl=duration_pb2.Duration(seconds=5),
                    wait=duration_pb2.Duration(seconds=2)), timeout=10)
                if got.WhichOneof("result") == "lease":
                    s.Release(pb.ReleaseRequest(lease_token=got.lease.lease_token), timeout=10)
                    self.results.append((time.monotonic(), "ok"))
                else:
                    self.results.append((time.monotonic(), "busy"))
            except grpc.RpcError as e:
                self.results.append((time.monotonic(), e.code().name))
                time.sleep(0.2)
            i += 1

    def finish(self) -> None:
        self._halt.set()
        self.join(30)

    def between(self, start: float, end: float) -> dict[str, int]:
        counts: dict[str, int] = {}
        for t, what in self.results:
            if start <= t <= end:
                counts[what] = counts.get(what, 0) + 1
        return counts


def member_status(etcd_bin: Path, rel: Release) -> tuple[dict[str, int], int]:
    """({pod name: member ID}, leader's member ID), read from every member."""
    pods = etcd_pods(rel)
    eps = [f"http://{p['status']['podIP']}:2379" for p in pods]
    members = etcdctl(etcd_bin, eps, "member", "list")["members"]
    ids = {m["name"]: m["ID"] for m in members}
    statuses = etcdctl(etcd_bin, eps, "endpoint", "status")
    leaders = {s["Status"]["leader"] for s in statuses}
    assert len(statuses) == 3 and len(leaders) == 1, statuses
    return ids, leaders.pop()


def bundled(base: Path, cluster: KubeCluster, node: KubeletNode, image: dict[str, str],
            etcd_bin: Path) -> None:
    values = {"image": image, "server": {"shutdownGrace": 5},
              "etcd": {"bundled": {"image": {"repository": "localhost/etcd",
                                             "tag": etcd_bin.name, "pullPolicy": "Never"}}}}
    rel = Release(cluster, "bundled", values, base / "release-bundled")
    try:
        install(rel, timeout=300, volumes_owner=ETCD_UID)
    except Exception:
        print(node.logs())
        for p in etcd_pods(rel) + coordinator_pods(rel):
            print(node.container_logs(rel.ns, p["metadata"]["name"]))
        raise
    pods = etcd_pods(rel)
    (peer,) = [s["metadata"]["name"] for s in rel.find("Service")
               if s["spec"].get("clusterIP") == "None"]
    names = [f"{p['metadata']['name']}.{peer}.{rel.ns}.svc.{CLUSTER_DOMAIN}" for p in pods]
    resolved = {n: dns_lookup(n) for n in names}
    pairs = zip(names, pods, strict=True)
    assert all(resolved[n] == [p["status"]["podIP"]] for n, p in pairs), resolved
    ids, leader = member_status(etcd_bin, rel)
    step(f"helm install (bundled etcd): {len(pods)} etcd members Ready, leader "
         f"{[n for n, i in ids.items() if i == leader]}; coordinators Ready; DNS: "
         + ", ".join(f"{n.split('.')[0]} -> {ips[0]}" for n, ips in resolved.items()))
    step(seen_across(rel, "thread_bundled"))

    coordinators = coordinator_pods(rel)
    held = acquire(coordinators[0], "thread_held", 10)
    renewer = Renewer(rel, held)
    renewer.start()
    load = Load(coordinators)
    load.start()
    time.sleep(3)
    (victim,) = [n for n, i in ids.items() if i == leader]
    old_uid = next(p["metadata"]["uid"] for p in pods if p["metadata"]["name"] == victim)
    deleted = time.monotonic()
    rel.api.request("DELETE", f"/api/v1/namespaces/{rel.ns}/pods/{victim}")

    def back() -> bool:
        node.check_alive()
        now = {p["metadata"]["name"]: p for p in etcd_pods(rel)}
        p = now.get(victim)
        return bool(p and p["metadata"]["uid"] != old_uid and ready(p) and len(now) == 3
                    and all(ready(q) for q in now.values()))
    try:
        rel.api.wait(back, what=f"{victim} recreated and every member Ready", timeout=240)
    except AssertionError:
        print(node.container_logs(rel.ns, victim))
        raise
    returned = time.monotonic()
    ids_after, leader_after = member_status(etcd_bin, rel)
    time.sleep(3)
    load.finish()
    renewed = renewer.finish()
    during = load.between(deleted, returned)
    after = load.between(returned, time.monotonic())
    step(f"deleted the etcd leader's pod {victim}: back Ready after {returned - deleted:.1f}s "
         f"as the same member (ID {ids_after[victim]:x}), new leader "
         f"{[n for n, i in ids_after.items() if i == leader_after]}; lock cycles while it was "
         f"away: {during}, after: {after}")
    assert ids_after == ids, (ids, ids_after)  # rejoined from its data, not a new member
    assert leader_after != leader, "the deleted pod's member is leader again"
    assert during.get("ok", 0) > 0, f"no lock went through while the member was away: {during}"
    # "busy": a lock left by a cycle whose answer was lost while the member was away, until
    # its 5 s TTL ends (a correct answer, not a failure).
    assert after.get("ok", 0) > 0 and set(after) <= {"ok", "busy"}, after
    seen = holder(coordinators[1], "thread_held")
    assert seen.fencing_token == held.fencing_token, seen
    assert stub(coordinators[1]).Release(pb.ReleaseRequest(lease_token=held.lease_token),
                                         timeout=15).released
    step(f"no lock lost: the 10 s lock held through it ({renewed}), same fencing token "
         f"{held.fencing_token}, released")
    eps = [f"http://{p['status']['podIP']}:2379" for p in etcd_pods(rel)]
    agreed: list[tuple[int, int]] = []

    def same_history() -> bool:
        hashes = etcdctl(etcd_bin, eps, "endpoint", "hashkv")
        agreed[:] = sorted({(h["HashKV"]["hash_revision"], h["HashKV"]["hash"]) for h in hashes})
        return len(hashes) == 3 and len(agreed) == 1
    rel.api.wait(same_history, what="the three members' hashkv to agree", timeout=60)
    step(f"members agree after the rejoin: hashkv {agreed[0][1]:x} at revision {agreed[0][0]}")
    rel.helm("uninstall", RELEASE, "--wait", "--timeout", "100s")
    rel.api.wait(lambda: not coordinator_pods(rel) and not etcd_pods(rel),
                 what="the release's pods gone")
    step("helm uninstall: pods gone (the etcd volumes' claims are kept, as documented)")
