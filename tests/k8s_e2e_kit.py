"""What the real-node scenarios (tests/k8s_e2e.py, tests/k8s_e2e_bundled.py) share: step
lines with timings, installing a release without helm's client-side wait, gRPC stubs on pod
IPs, a renewer that keeps one lock alive through a disruption, and a pod watch that records
how each container ended (the Pod objects are gone soon after)."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import duration_pb2
from helm_chart import values_args
from k8s_api import Obj
from k8s_cluster import KubeCluster
from k8s_release import RELEASE, Release, ready

from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc

_STARTED = time.monotonic()
_last = [_STARTED]


def step(what: str) -> None:
    """One line per step: time since the start, the step's own duration, what was done."""
    now = time.monotonic()
    print(f"[{now - _STARTED:7.1f}s] (+{now - _last[0]:5.1f}s) {what}", flush=True)
    _last[0] = now


def install(rel: Release, timeout: float = 300, *, volumes_owner: int | None = None) -> None:
    """Release.install without `helm --wait` (helm_chart.helm allows a command 120 s): the
    namespace and what the chart expects in it, `helm install`, then every workload ready.

    volumes_owner: make the directories of the hostPath PersistentVolumes that the release's
    setup creates, owned by this UID/GID (a real kubelet mounts them as they are: a hostPath
    volume gets no fsGroup ownership change)."""
    rel._prepare_namespace()  # the release's own setup, shared with the KWOK tests
    if volumes_owner is not None:
        for pv in rel.api.items("/api/v1/persistentvolumes"):
            if pv["metadata"]["name"].startswith(f"{rel.ns}-"):
                path = Path(pv["spec"]["hostPath"]["path"])
                path.mkdir(parents=True, mode=0o700)
                os.chown(path, volumes_owner, volumes_owner)
    rel.helm("install", RELEASE, str(rel.chart), *values_args(rel.workdir, rel.values))
    rel.wait_workloads_ready(timeout=timeout)


def coordinator_pods(rel: Release) -> list[Obj]:
    (dep,) = rel.find("Deployment")
    return sorted(rel.pods(dep["spec"]["selector"]["matchLabels"]),
                  key=lambda p: p["metadata"]["name"])


_channels: dict[str, grpc.Channel] = {}


def stub(pod: Obj) -> lock_pb2_grpc.LockServiceStub:
    """A LockService stub on the pod's IP (one channel per address, reused)."""
    address = f"{pod['status']['podIP']}:50051"
    if address not in _channels:
        _channels[address] = grpc.insecure_channel(address)
    return lock_pb2_grpc.LockServiceStub(_channels[address])


def holder(pod: Obj, key: str) -> pb.Holder:
    resp = stub(pod).Status(pb.StatusRequest(key=key), timeout=10)
    (state,) = resp.locks
    found: pb.Holder = state.holder
    return found


def acquire(pod: Obj, key: str, ttl: int) -> pb.Lease:
    got = stub(pod).Acquire(pb.AcquireRequest(key=key, owner="e2e",
                                              ttl=duration_pb2.Duration(seconds=ttl)), timeout=15)
    assert got.WhichOneof("result") == "lease", got
    lease: pb.Lease = got.lease
    return lease


def seen_across(rel: Release, key: str) -> str:
    """A lock acquired through one coordinator pod is seen (holder, fencing token) through
    the other, and released through it."""
    a, b = coordinator_pods(rel)
    lease = acquire(a, key, 60)
    seen = holder(b, key)
    assert seen.owner == "e2e" and seen.fencing_token == lease.fencing_token, seen
    assert stub(b).Release(pb.ReleaseRequest(lease_token=lease.lease_token), timeout=15).released
    assert not stub(a).Status(pb.StatusRequest(key=key), timeout=10).locks
    return (f"lock {key} acquired through {a['metadata']['name']} (fencing token "
            f"{lease.fencing_token}), seen through {b['metadata']['name']}, released there")


class Renewer(threading.Thread):
    """Keeps one lock (a short TTL) alive through whichever coordinator pod is ready at each
    renewal: the lock survives a disruption only if renewals keep going through."""

    def __init__(self, rel: Release, lease: pb.Lease, every: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.rel, self.lease, self.every = rel, lease, every
        self.ok = 0
        self.failed: list[str] = []  # status codes of renewals that did not go through
        self.lost: str | None = None  # the lease expired (NOT_FOUND etc.): a lost lock
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.every):
            pods = [p for p in coordinator_pods(self.rel) if ready(p)]
            if not pods:
                self.failed.append("no ready pod")
                continue
            try:
                stub(pods[self.ok % len(pods)]).KeepAlive(
                    pb.KeepAliveRequest(lease_token=self.lease.lease_token), timeout=5)
                self.ok += 1
            except grpc.RpcError as e:
                code = e.code()
                if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                            grpc.StatusCode.CANCELLED):
                    self.failed.append(code.name)  # that pod went away meanwhile: retry
                else:
                    self.lost = f"{code.name}: {e.details()}"
                    return

    def finish(self) -> str:
        self._halt.set()
        self.join(15)
        assert self.lost is None, f"the lock was lost: {self.lost}"
        return f"{self.ok} renewals went through ({len(self.failed)} retried: {self.failed})"


class PodWatch(threading.Thread):
    """Watches a namespace's pods and records, for each pod, how its first container ended
    (exit code, reason, the pod's deletion time and the container's finish time)."""

    def __init__(self, cluster: KubeCluster, namespace: str) -> None:
        super().__init__(daemon=True)
        self.cluster, self.ns = cluster, namespace
        self.ended: dict[str, dict[str, Any]] = {}
        self.error: str | None = None
        rv = cluster.api.get(f"/api/v1/namespaces/{namespace}/pods")["metadata"]["resourceVersion"]
        self._url = (f"{cluster.server}/api/v1/namespaces/{namespace}/pods"
                     f"?watch=1&resourceVersion={rv}&timeoutSeconds=900")
        pki = cluster.pki
        assert pki is not None
        admin = pki.clients["admin"]
        self._ctx = ssl.create_default_context(cafile=str(admin.ca))
        self._ctx.load_cert_chain(str(admin.cert), str(admin.key))

    def run(self) -> None:
        try:
            with urllib.request.urlopen(self._url, context=self._ctx, timeout=960) as resp:
                for line in resp:
                    self._record(json.loads(line)["object"])
        except Exception as e:  # reported by the scenario that reads it
            self.error = repr(e)

    def _record(self, pod: Obj) -> None:
        name = pod["metadata"].get("name")
        for cs in pod.get("status", {}).get("containerStatuses", []):
            term = cs.get("state", {}).get("terminated")
            if term and name not in self.ended:
                self.ended[name] = {"exitCode": term["exitCode"], "reason": term.get("reason"),
                                    "deleted": pod["metadata"].get("deletionTimestamp"),
                                    "finished": term.get("finishedAt")}


def etcdctl(etcd_bin: Path, endpoints: list[str], *args: str) -> Any:
    """etcdctl's JSON answer (-w json) for these endpoints."""
    out = subprocess.run([str(etcd_bin / "etcdctl"), "--endpoints", ",".join(endpoints),
                          "--command-timeout", "5s", "-w", "json", *args],
                         capture_output=True, text=True, timeout=30, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"etcdctl {' '.join(args)}: {out.stderr.strip()}")
    return json.loads(out.stdout)
