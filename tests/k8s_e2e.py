"""The chart's pods on a real node (run by scripts/k8s-e2e.sh, as root, inside the network and
mount namespaces it creates; not a pytest module):

    python tests/k8s_e2e.py BASE [external|bundled ...]    (default: both)

1. A control plane (tests/k8s_cluster.py) and a real node (tests/k8s_node.py: containerd,
   runc, the CNI bridge plugin, a kubelet, the cluster DNS) with the images imported into
   containerd.
2. `external`: etcd on the node address; the chart installed with `etcd.mode: external`, its
   image the one built from the Dockerfile, `pullPolicy: Never` (nothing is pulled), in a
   namespace that enforces the `restricted` Pod Security Standard.
   - Both coordinator pods become Ready: the kubelet ran their native gRPC probes. That the
     probes really run is shown by stopping etcd: readiness ("" = etcd reachable) fails and
     both pods leave Ready, liveness ("threadlock.liveness") does not (no restart); with etcd
     back they are Ready again.
   - A lock acquired through one pod is seen (holder, fencing token) through the other.
   - A rolling update (`kubectl rollout restart`'s annotation) replaces both pods while a
     lock with a 10 s TTL is renewed through whichever pod is ready: each old container ends
     with exit code 0 (SIGTERM handled, drained within the grace period), the lock is never
     lost (same fencing token afterwards) and is released through a new pod.
3. `bundled`: tests/k8s_e2e_bundled.py (the chart's default etcd StatefulSet).
Prints one line per step with its duration; exits non-zero on the first failure."""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from etcd_server import free_port
from k8s_cluster import KubeCluster, _Process
from k8s_e2e_kit import (
    PodWatch,
    Renewer,
    acquire,
    coordinator_pods,
    holder,
    install,
    seen_across,
    step,
    stub,
)
from k8s_node import NODE_IP, KubeletNode
from k8s_release import RELEASE, Release, ready

from threadlock.etcd.versions import CURRENT
from threadlock.v1 import lock_pb2 as pb

ROOT = Path(__file__).resolve().parents[1]
ETCD_BIN = ROOT / ".tools" / "etcd" / ("v" + ".".join(map(str, CURRENT)))
PAUSE_REF = "localhost/pause:3.10.2"


def image_values() -> dict[str, str]:
    """The chart's image values for the archive build-image.sh wrote (threadlock-<tag>.oci.tar),
    never pulled."""
    archive = Path(os.environ["THREADLOCK_E2E_IMAGE"])
    tag = archive.name.removeprefix("threadlock-").removesuffix(".oci.tar")
    return {"repository": "localhost/threadlock", "tag": tag, "pullPolicy": "Never"}


class ExternalEtcd:
    """One etcd member listening on the node address (the pods reach it through the CNI
    bridge), its data kept across stop/start."""

    def __init__(self, base: Path) -> None:
        self.base, self.port, self.peer = base, free_port(), free_port()
        self.url = f"http://{NODE_IP}:{self.port}"
        self.proc: _Process | None = None

    def start(self) -> None:
        peer = f"http://127.0.0.1:{self.peer}"
        self.proc = _Process("etcd-external", [
            str(ETCD_BIN / "etcd"), "--data-dir", str(self.base / "etcd-data"), "--name", "e2e",
            "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"e2e={peer}"], self.base / "etcd-external.log")
        deadline = time.monotonic() + 60
        while True:
            self.proc.check_alive()
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as resp:
                    if b'"true"' in resp.read():
                        return
            except OSError:
                pass
            assert time.monotonic() < deadline, f"etcd not healthy in 60 s\n{self.proc.tail()}"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()
            self.proc = None


def probes_really_run(rel: Release, etcd: ExternalEtcd, node: KubeletNode) -> str:
    pods = coordinator_pods(rel)
    for p in pods:
        c = p["spec"]["containers"][0]
        assert "grpc" in c["readinessProbe"] and "grpc" in c["startupProbe"] \
            and "grpc" in c["livenessProbe"], c
    etcd.stop()
    t = time.monotonic()

    def all_unready() -> bool:
        node.check_alive()
        return not any(ready(p) for p in coordinator_pods(rel))
    rel.api.wait(all_unready, what="both pods unready (readiness probe) with etcd down",
                 timeout=90)
    down = time.monotonic() - t
    etcd.start()
    t = time.monotonic()
    rel.api.wait(lambda: all(ready(p) for p in coordinator_pods(rel)),
                 what="both pods Ready again with etcd back", timeout=90)
    up = time.monotonic() - t
    restarts = [p["status"]["containerStatuses"][0]["restartCount"]
                for p in coordinator_pods(rel)]
    assert restarts == [0, 0], f"liveness restarted a container: {restarts}"
    return (f"probes really run: etcd stopped -> both pods unready after {down:.1f}s, "
            f"etcd back -> Ready after {up:.1f}s, no restart (liveness kept passing)")


def rolling_update(rel: Release, node: KubeletNode, cluster: KubeCluster) -> None:
    pods = coordinator_pods(rel)
    lease = acquire(pods[0], "thread_roll", 10)
    renewer = Renewer(rel, lease)
    renewer.start()
    watch = PodWatch(cluster, rel.ns)
    watch.start()
    old = {p["metadata"]["name"] for p in pods}
    (dep,) = rel.find("Deployment")
    rel.api.merge_patch(rel.obj_path(dep), {"spec": {"template": {"metadata": {
        "annotations": {"kubectl.kubernetes.io/restartedAt": datetime.now(UTC).isoformat()}}}}})

    def rolled() -> bool:
        node.check_alive()
        now = coordinator_pods(rel)
        return (len(now) == 2 and all(ready(p) for p in now)
                and not old & {p["metadata"]["name"] for p in now}
                and old <= watch.ended.keys())
    try:
        rel.api.wait(rolled, what="the rolling update to replace both pods and both old "
                     "containers' ends to be seen", timeout=240)
    except AssertionError:
        print(f"watch: {watch.ended} {watch.error}", file=sys.stderr)
        for name in old:
            print(node.container_logs(rel.ns, name), file=sys.stderr)
        raise
    renewed = renewer.finish()
    new = coordinator_pods(rel)
    ends = {n: watch.ended[n] for n in sorted(old)}
    step("rolling update: " + ", ".join(sorted(old)) + " -> "
         + ", ".join(p["metadata"]["name"] for p in new) + "; old containers ended: "
         + "; ".join(f"{n} exit {e['exitCode']} ({e['reason']}), deleted {e['deleted']}, "
                     f"finished {e['finished']}" for n, e in ends.items()))
    assert all(e["exitCode"] == 0 for e in ends.values()), ends
    seen = holder(new[0], "thread_roll")
    assert seen.owner == "e2e" and seen.fencing_token == lease.fencing_token, seen
    stub(new[1]).KeepAlive(pb.KeepAliveRequest(lease_token=lease.lease_token), timeout=15)
    assert stub(new[0]).Release(pb.ReleaseRequest(lease_token=lease.lease_token),
                                timeout=15).released
    step(f"no lock lost: the 10 s lock held through the update ({renewed}), same fencing "
         f"token {lease.fencing_token} after it, renewed and released through the new pods")


def external(base: Path, cluster: KubeCluster, node: KubeletNode) -> None:
    etcd = ExternalEtcd(base)
    try:
        etcd.start()
        step(f"external etcd at {etcd.url}")
        values = {"image": image_values(),
                  "etcd": {"mode": "external", "external": {"endpoints": [etcd.url]}},
                  "server": {"shutdownGrace": 5}}
        rel = Release(cluster, "external", values, base / "release-external")
        try:
            install(rel, timeout=240)
        except Exception:
            print(node.logs(), file=sys.stderr)
            for p in coordinator_pods(rel):
                print(node.container_logs(rel.ns, p["metadata"]["name"]), file=sys.stderr)
            raise
        pods = coordinator_pods(rel)
        assert len(pods) == 2 and all(ready(p) for p in pods), pods
        assert all(p["status"]["containerStatuses"][0]["imageID"] for p in pods), pods
        step("helm install (etcd.mode external): 2 coordinator pods Ready through their "
             "gRPC probes: " + ", ".join(f"{p['metadata']['name']} {p['status']['podIP']}"
                                         for p in pods))
        step(probes_really_run(rel, etcd, node))
        step(seen_across(rel, "thread_e2e"))
        rolling_update(rel, node, cluster)
        rel.helm("uninstall", RELEASE, "--wait", "--timeout", "100s")
        rel.api.wait(lambda: not coordinator_pods(rel), what="the coordinator pods gone")
        step("helm uninstall: pods gone")
    finally:
        etcd.stop()


def main(base: Path, scenarios: list[str]) -> None:
    node_root = Path(os.environ["THREADLOCK_E2E_NODE"]) / "root"
    cluster = KubeCluster(base / "cluster", nodes=0)
    node = KubeletNode(base / "node", cluster, node_root, PAUSE_REF,
                       os.environ["THREADLOCK_E2E_CGROUP_ROOT"])
    try:
        cluster.start()
        step("control plane up (etcd, kube-apiserver, controller-manager, scheduler)")
        node.start()
        for var in ("THREADLOCK_E2E_PAUSE", "THREADLOCK_E2E_ETCD", "THREADLOCK_E2E_IMAGE"):
            node.import_image(Path(os.environ[var]))
        step("containerd up; images imported: " + ", ".join(
            line.split()[0] for line in node.ctr("images", "ls").splitlines()[1:]
            if line.startswith("localhost/")))
        node.start_dns()
        node.start_kubelet()
        cluster.api.wait(node.node_ready, what="the kubelet's node Ready", timeout=120)
        step(f"node tl-node Ready (kubelet, address {NODE_IP}; cluster DNS at {NODE_IP}:53)")
        if "external" in scenarios:
            external(base, cluster, node)
        if "bundled" in scenarios:
            from k8s_e2e_bundled import bundled
            bundled(base, cluster, node, image_values(), ETCD_BIN)
    finally:
        node.stop()
        cluster.stop()


if __name__ == "__main__":
    chosen = sys.argv[2:] or ["external", "bundled"]
    unknown = set(chosen) - {"external", "bundled"}
    if unknown:
        sys.exit(f"unknown scenario(s) {sorted(unknown)} (known: external, bundled)")
    main(Path(sys.argv[1]), chosen)
    step("ok: " + ", ".join(chosen))
