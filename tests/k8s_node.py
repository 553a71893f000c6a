"""A real Kubernetes node for tests/k8s_e2e.py: containerd (with runc and the CNI bridge
plugin), a kubelet registered to a KubeCluster's apiserver, and the cluster DNS
(tests/k8s_dns.py) at the node address. Run inside the network and mount namespaces
scripts/k8s-e2e.sh creates: the node address is NODE_IP on a veth link, pods get addresses
from POD_CIDR on a bridge in that namespace. Every file and socket lives under `base`; pod
cgroups under the cgroup root the script made; processes are stopped by their PID
(k8s_cluster._Process)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from etcd_server import free_port
from k8s_cluster import BIN, KubeCluster, _Process

NODE_IP = "10.213.0.2"
POD_CIDR = "10.214.0.0/24"
NODE_NAME = "tl-node"
CLUSTER_DOMAIN = "cluster.local"
CNI_BIN = Path("/usr/lib/cni")  # Debian's containernetworking-plugins
TESTS = Path(__file__).resolve().parent


class KubeletNode:
    def __init__(self, base: Path, cluster: KubeCluster, containerd_root: Path,
                 pause_ref: str, cgroup_root: str) -> None:
        self.base, self.cluster = base, cluster
        self.containerd_bin = Path(os.path.realpath(containerd_root / "usr" / "bin"))
        self.pause_ref, self.cgroup_root = pause_ref, cgroup_root
        self.sock = base / "containerd" / "containerd.sock"
        self._procs: list[_Process] = []

    # --- containerd -----------------------------------------------------------------------------
    def _containerd_config(self) -> Path:
        d = self.base / "containerd"
        cni = self.base / "cni"
        cni.mkdir(parents=True, exist_ok=True)
        d.mkdir(parents=True, exist_ok=True)
        (cni / "10-tl.conflist").write_text(json.dumps({
            "cniVersion": "0.4.0", "name": "tl", "plugins": [{
                "type": "bridge", "bridge": "tl-cni0", "isGateway": True, "ipMasq": False,
                "ipam": {"type": "host-local", "ranges": [[{"subnet": POD_CIDR}]],
                         "routes": [{"dst": "0.0.0.0/0"}],
                         "dataDir": str(self.base / "cni-ipam")}}]}))
        config = d / "config.toml"
        # restrict_oom_score_adj: CAP_SYS_RESOURCE is withheld on this machine, so runc may
        # not lower oom_score_adj below its own (see scripts/k8s-e2e.sh).
        # The opt plugin would otherwise create /opt/containerd.
        config.write_text(f"""version = 2
root = "{d / 'root'}"
state = "{d / 'state'}"
[grpc]
  address = "{self.sock}"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d / 'opt'}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{self.pause_ref}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN}"
    conf_dir = "{cni}"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
""")
        return config

    def ctr(self, *args: str, timeout: float = 600) -> str:
        proc = subprocess.run([str(self.containerd_bin / "ctr"), "--address", str(self.sock),
                               "--namespace", "k8s.io", *args], capture_output=True, text=True,
                              timeout=timeout, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"ctr {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def import_image(self, archive: Path) -> None:
        self.ctr("images", "import", str(archive))

    # --- kubelet --------------------------------------------------------------------------------
    def _kubelet_config(self) -> Path:
        # Pods get only the cluster DNS (tests/k8s_dns.py, at the node address): no resolver
        # outside the namespace is ever named.
        resolv = self.base / "resolv.conf"
        resolv.write_text("")
        pki = self.cluster.pki
        assert pki is not None
        config = self.base / "kubelet.yaml"
        config.write_text(yaml.safe_dump({
            "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            # This machine has cgroup v1: kubelet >= 1.35 runs there only when told to.
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            # A cgroup of this run's own (scripts/k8s-e2e.sh makes it in every hierarchy and
            # removes it at exit): kubepods and every pod cgroup sit under it.
            "cgroupRoot": self.cgroup_root,
            "containerRuntimeEndpoint": f"unix://{self.sock}",
            "address": NODE_IP, "port": free_port(), "readOnlyPort": 0, "healthzPort": 0,
            "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": False},
                               "x509": {"clientCAFile": str(pki.server.ca)}},
            "authorization": {"mode": "AlwaysAllow"},
            "resolvConf": str(resolv),
            "clusterDNS": [NODE_IP], "clusterDomain": CLUSTER_DOMAIN,
            "failSwapOn": False,
            "registerNode": True,
            # The node's disks are what they are: no evictions or image GC for their fill.
            "evictionHard": {"memory.available": "1Mi", "nodefs.available": "1%",
                             "imagefs.available": "1%"},
            "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
            "serializeImagePulls": False,
            "podCIDR": POD_CIDR,
            # Status reaches the apiserver within a second (the default is 10 s for some).
            "nodeStatusUpdateFrequency": "4s",
        }))
        return config

    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        # containerd finds its shim (containerd-shim-runc-v2, next to it) and runc in PATH.
        os.environ["PATH"] = f"{self.containerd_bin}:{os.environ['PATH']}"
        self._procs.append(_Process("containerd", [
            str(self.containerd_bin / "containerd"), "--config", str(self._containerd_config())],
            self.base / "containerd.log"))
        deadline = time.monotonic() + 60
        while not self.sock.exists():
            self._procs[-1].check_alive()
            assert time.monotonic() < deadline, "containerd did not open its socket in 60 s"
            time.sleep(0.2)

    def start_dns(self) -> None:
        pki = self.cluster.pki
        assert pki is not None
        admin = pki.clients["admin"]
        self._procs.append(_Process("k8s-dns", [
            sys.executable, str(TESTS / "k8s_dns.py"), "--listen", f"{NODE_IP}:53",
            "--server", self.cluster.server, "--ca", str(admin.ca), "--cert", str(admin.cert),
            "--key", str(admin.key), "--domain", CLUSTER_DOMAIN], self.base / "k8s-dns.log"))

    def start_kubelet(self) -> None:
        kubelet = BIN / "kubelet"
        assert kubelet.is_file(), \
            f"{kubelet} missing: K8S_EXTRA_TARGETS=kubelet ./scripts/setup-k8s.sh"
        self._procs.append(_Process("kubelet", [
            str(kubelet), "--config", str(self._kubelet_config()),
            # The admin identity (system:masters): TLS bootstrap is not under test.
            "--kubeconfig", str(self.cluster.kubeconfig),
            "--root-dir", str(self.base / "kubelet"), "--cert-dir", str(self.base / "pki"),
            "--node-ip", NODE_IP, "--hostname-override", NODE_NAME, "--v", "2"],
            self.base / "kubelet.log"))

    def check_alive(self) -> None:
        for proc in self._procs:
            proc.check_alive()

    def node_ready(self) -> bool:
        self.check_alive()
        api = self.cluster.api
        if not api.exists(f"/api/v1/nodes/{NODE_NAME}"):
            return False
        node = api.get(f"/api/v1/nodes/{NODE_NAME}")
        return any(c["type"] == "Ready" and c["status"] == "True"
                   for c in node.get("status", {}).get("conditions", []))

    def logs(self) -> str:
        return "\n".join(p.tail(25) for p in self._procs)

    def container_logs(self, namespace: str, pod: str, lines: int = 20) -> str:
        """The tail of a pod's container logs, as the kubelet wrote them (/var/log/pods, a
        tmpfs private to this run's mount namespace)."""
        found = []
        for log in sorted(Path("/var/log/pods").glob(f"{namespace}_{pod}_*/*/*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            found.append(f"--- {log} ---\n" + "\n".join(text))
        return "\n".join(found) or f"(no container logs of {namespace}/{pod})"

    def _shim_pids(self) -> list[int]:
        """containerd-shim-runc-v2 processes of this node: our copy of the binary, in our
        network namespace. They detach from containerd (their own session), so stopping
        containerd's process group leaves them."""
        shim = str(self.containerd_bin / "containerd-shim-runc-v2")
        netns = os.readlink("/proc/self/ns/net")
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.readlink(entry / "exe") == shim and os.readlink(entry / "ns/net") == netns:
                    pids.append(int(entry.name))
            except OSError:
                continue
        return pids

    def stop(self) -> None:
        # The kubelet first (it would restart what is killed next), then the containers, by
        # their task PIDs (they live in the pods' own network namespaces), then containerd
        # and the DNS, then the shims that outlive containerd.
        for proc in self._procs:
            if proc.name == "kubelet":
                proc.stop(timeout=20)
        if self.sock.exists():
            try:
                for line in self.ctr("tasks", "ls", timeout=30).splitlines()[1:]:
                    fields = line.split()
                    if len(fields) >= 2 and fields[1].isdigit() and int(fields[1]) > 0:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(int(fields[1]), signal.SIGKILL)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                print(f"k8s-node: could not list containerd's tasks: {e}", file=sys.stderr)
        for proc in reversed(self._procs):
            proc.stop(timeout=20)
        self._procs.clear()
        for pid in self._shim_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
