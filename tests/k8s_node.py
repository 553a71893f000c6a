"""A real Kubernetes node for tests/k8s_e2e.py: containerd (with runc and the CNI bridge
plugin) and a kubelet, registered to a KubeCluster's apiserver. Run inside the network
namespace scripts/k8s-e2e.sh creates: the node address is NODE_IP on its dummy link, pods get
addresses from POD_CIDR on a bridge in that namespace. Every file and socket lives under
`base`; processes are stopped by their PID (k8s_cluster._Process)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import yaml
from etcd_server import free_port
from k8s_cluster import BIN, KubeCluster, _Process

NODE_IP = "10.213.0.2"
POD_CIDR = "10.214.0.0/24"
NODE_NAME = "tl-node"
CNI_BIN = Path("/usr/lib/cni")  # Debian's containernetworking-plugins


class KubeletNode:
    def __init__(self, base: Path, cluster: KubeCluster, containerd_root: Path,
                 pause_ref: str) -> None:
        self.base, self.cluster = base, cluster
        self.containerd_bin = containerd_root / "usr" / "bin"
        self.pause_ref = pause_ref
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
        config.write_text(f"""version = 2
root = "{d / 'root'}"
state = "{d / 'state'}"
[grpc]
  address = "{self.sock}"
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

    def _env(self) -> dict[str, str]:
        return {**os.environ, "PATH": f"{self.containerd_bin}:{os.environ['PATH']}"}

    def ctr(self, *args: str, timeout: float = 600) -> str:
        proc = subprocess.run([str(self.containerd_bin / "ctr"), "--address", str(self.sock),
                               "--namespace", "k8s.io", *args], capture_output=True, text=True,
                              timeout=timeout, env=self._env(), check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"ctr {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def import_image(self, archive: Path) -> None:
        self.ctr("images", "import", str(archive))

    # --- kubelet --------------------------------------------------------------------------------
    def _kubelet_config(self) -> Path:
        resolv = self.base / "resolv.conf"
        resolv.write_text("")  # pods get no resolver: no DNS leaves the namespace
        pki = self.cluster.pki
        assert pki is not None
        config = self.base / "kubelet.yaml"
        config.write_text(yaml.safe_dump({
            "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            # This machine has cgroup v1: kubelet >= 1.35 runs there only when told to.
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            "containerRuntimeEndpoint": f"unix://{self.sock}",
            "address": NODE_IP, "port": free_port(), "readOnlyPort": 0, "healthzPort": 0,
            "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": False},
                               "x509": {"clientCAFile": str(pki.server.ca)}},
            "authorization": {"mode": "AlwaysAllow"},
            "resolvConf": str(resolv),
            "failSwapOn": False,
            "registerNode": True,
            # The shared disk is what it is: no evictions or image GC for its fill level.
            "evictionHard": {"memory.available": "1Mi", "nodefs.available": "1%",
                             "imagefs.available": "1%"},
            "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
            "serializeImagePulls": False,
            "podCIDR": POD_CIDR,
        }))
        return config

    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self._procs.append(_Process("containerd", [
            str(self.containerd_bin / "containerd"), "--config", str(self._containerd_config())],
            self.base / "containerd.log"))
        deadline = time.monotonic() + 60
        while not self.sock.exists():
            self._procs[-1].check_alive()
            assert time.monotonic() < deadline, "containerd did not open its socket in 60 s"
            time.sleep(0.2)

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

    def stop(self) -> None:
        # Containers outlive a stopped kubelet and containerd (their shims are separate
        # processes, in the pods' own network namespaces): kill them first.
        if self.sock.exists():
            try:
                for task in self.ctr("tasks", "ls", "-q", timeout=30).split():
                    subprocess.run([str(self.containerd_bin / "ctr"), "--address",
                                    str(self.sock), "-n", "k8s.io", "tasks", "kill", "-a",
                                    "-s", "SIGKILL", task], capture_output=True, timeout=30,
                                   env=self._env(), check=False)
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        for proc in reversed(self._procs):
            proc.stop(timeout=20)
        self._procs.clear()
