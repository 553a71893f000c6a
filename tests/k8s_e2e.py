"""The chart's coordinator pods on a real node (run by scripts/k8s-e2e.sh, as root, inside the
network namespace it creates; not a pytest module).

1. A control plane (tests/k8s_cluster.py) and a real node (tests/k8s_node.py: containerd,
   runc, the CNI bridge plugin, a kubelet) with the images imported into containerd.
2. etcd on the node address; the chart installed with `etcd.mode: external`, its image the
   one built from the Dockerfile, `pullPolicy: Never` (nothing is pulled), in a namespace that
   enforces the `restricted` Pod Security Standard.
3. Both coordinator pods become Ready: the kubelet ran their native gRPC probes.
4. A lock acquired through one pod is seen (holder, fencing token) through the other.
5. A rolling update (`kubectl rollout restart`'s annotation) replaces both pods: each old
   container ends with exit code 0 (SIGTERM, drained within the grace period), the lock,
   held meanwhile, is still held with the same fencing token and is renewed and released
   through a new pod.
Prints one line per step with its duration; exits non-zero on the first failure."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import grpc
from etcd_server import free_port
from google.protobuf import duration_pb2
from k8s_api import Obj
from k8s_cluster import KubeCluster, _Process
from k8s_node import NODE_IP, KubeletNode
from k8s_release import Release, ready

from threadlock.etcd.versions import CURRENT
from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]
STARTED = time.monotonic()


def step(what: str) -> None:
    print(f"[{time.monotonic() - STARTED:7.1f}s] {what}", flush=True)


def image_ref(archive: Path) -> tuple[str, str]:
    """(repository, tag) of an archive build-image.sh wrote: threadlock-<tag>.oci.tar."""
    tag = archive.name.removeprefix("threadlock-").removesuffix(".oci.tar")
    return "localhost/threadlock", tag


def coordinator_pods(rel: Release) -> list[Obj]:
    (dep,) = rel.find("Deployment")
    return rel.pods(dep["spec"]["selector"]["matchLabels"])


def stub(pod: Obj) -> lock_pb2_grpc.LockServiceStub:
    channel = grpc.insecure_channel(f"{pod['status']['podIP']}:50051")
    return lock_pb2_grpc.LockServiceStub(channel)


def holder(pod: Obj, key: str) -> pb.Holder:
    resp = stub(pod).Status(pb.StatusRequest(key=key), timeout=10)
    (state,) = resp.locks
    found: pb.Holder = state.holder
    return found


def main(base: Path) -> None:
    archive = Path(os.environ["THREADLOCK_E2E_IMAGE"])
    node_root = Path(os.environ["THREADLOCK_E2E_NODE"]) / "root"
    repo, tag = image_ref(archive)
    cluster = KubeCluster(base / "cluster", nodes=0)
    node = KubeletNode(base / "node", cluster, node_root, "localhost/pause:3.10.2")
    etcd: _Process | None = None
    try:
        cluster.start()
        step("control plane up (etcd, kube-apiserver, controller-manager, scheduler)")
        node.start()
        for var in ("THREADLOCK_E2E_PAUSE", "THREADLOCK_E2E_ETCD", "THREADLOCK_E2E_IMAGE"):
            node.import_image(Path(os.environ[var]))
        step("containerd up; images imported: " + ", ".join(
            line.split()[0] for line in node.ctr("images", "ls").splitlines()[1:]
            if line.startswith("localhost/")))
        node.start_kubelet()
        cluster.api.wait(node.node_ready, what="the kubelet's node Ready", timeout=120)
        step(f"node tl-node Ready (kubelet, address {NODE_IP})")

        port = free_port()
        etcd_bin = ROOT / ".tools" / "etcd" / ("v" + ".".join(map(str, CURRENT))) / "etcd"
        etcd = _Process("etcd-external", [
            str(etcd_bin), "--data-dir", str(base / "etcd-data"), "--name", "e2e",
            "--listen-client-urls", f"http://{NODE_IP}:{port}",
            "--advertise-client-urls", f"http://{NODE_IP}:{port}",
            "--listen-peer-urls", f"http://127.0.0.1:{free_port()}",
            "--initial-advertise-peer-urls", "http://127.0.0.1:1"], base / "etcd-external.log")
        values = {"image": {"repository": repo, "tag": tag, "pullPolicy": "Never"},
                  "etcd": {"mode": "external",
                           "external": {"endpoints": [f"http://{NODE_IP}:{port}"]}},
                  "server": {"shutdownGrace": 5}}
        rel = Release(cluster, "e2e", values, base / "release")
        try:
            rel.install(timeout="240s")
        except Exception:
            print(node.logs(), file=sys.stderr)
            raise
        pods = coordinator_pods(rel)
        assert len(pods) == 2 and all(ready(p) for p in pods), [p["metadata"]["name"] for p in pods]
        for p in pods:
            c = p["spec"]["containers"][0]
            assert "grpc" in c["readinessProbe"] and "grpc" in c["startupProbe"], c
            assert p["status"]["containerStatuses"][0]["imageID"], p["status"]
        step("helm install: 2 coordinator pods Ready through their gRPC probes: " + ", ".join(
            f"{p['metadata']['name']} {p['status']['podIP']}" for p in pods))

        a, b = pods
        got = stub(a).Acquire(pb.AcquireRequest(key="thread_e2e", owner="e2e",
                                                ttl=duration_pb2.Duration(seconds=120)), timeout=15)
        seen = holder(b, "thread_e2e")
        assert seen.owner == "e2e" and seen.fencing_token == got.lease.fencing_token, seen
        step(f"lock acquired through {a['metadata']['name']} (fencing token "
             f"{got.lease.fencing_token}), seen through {b['metadata']['name']}")

        old = {p["metadata"]["name"] for p in pods}
        (dep,) = rel.find("Deployment")
        rel.api.merge_patch(rel.obj_path(dep), {"spec": {"template": {"metadata": {
            "annotations": {"kubectl.kubernetes.io/restartedAt":
                            datetime.now(UTC).isoformat()}}}}})
        exits: dict[str, int] = {}

        def rolled() -> bool:
            node.check_alive()
            for p in coordinator_pods(rel):
                name = p["metadata"]["name"]
                for cs in p.get("status", {}).get("containerStatuses", []):
                    term = cs.get("state", {}).get("terminated")
                    if name in old and term:
                        exits[name] = term["exitCode"]
            now = coordinator_pods(rel)
            return (len(now) == 2 and all(ready(p) for p in now)
                    and not old & {p["metadata"]["name"] for p in now})
        rel.api.wait(rolled, what="the rolling update to replace both pods", timeout=240)
        new = coordinator_pods(rel)
        step("rolling update done: " + ", ".join(p["metadata"]["name"] for p in new)
             + f"; old containers' exit codes seen: {exits}")
        assert all(code == 0 for code in exits.values()), exits
        seen = holder(new[0], "thread_e2e")
        assert seen.owner == "e2e" and seen.fencing_token == got.lease.fencing_token, seen
        stub(new[1]).KeepAlive(pb.KeepAliveRequest(lease_token=got.lease.lease_token),
                               timeout=15)
        released = stub(new[0]).Release(pb.ReleaseRequest(lease_token=got.lease.lease_token),
                                        timeout=15)
        assert released.released
        step("after the update: the lock still held (same fencing token), renewed and "
             "released through the new pods")
        rel.helm("uninstall", "locks", "--wait", "--timeout", "120s")
        step("helm uninstall done")
    finally:
        node.stop()
        if etcd:
            etcd.stop()
        cluster.stop()


if __name__ == "__main__":
    import tempfile
    with tempfile.TemporaryDirectory(prefix="tl-k8s-e2e-") as tmp:
        main(Path(tmp))
    step("ok")
