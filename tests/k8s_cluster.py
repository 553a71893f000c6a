"""A real Kubernetes control plane on loopback, for installing the chart (tests/test_k8s_chart.py):
etcd (tests/etcd_server.py), kube-apiserver (client certificates, RBAC, the default admission
plugins incl. PodSecurity), kube-controller-manager, kube-scheduler, and KWOK, which plays
the kubelets of a few fake nodes: pods scheduled there turn Running and Ready, without running
anything. scripts/setup-k8s.sh builds the binaries into .tools/k8s/<version>/.

    with KubeCluster(tmp_path, nodes=6) as cluster:
        cluster.api.get("/api/v1/nodes"); cluster.kubeconfig   # for helm --kubeconfig

What KWOK does not do: pull or run images, run probes (pods are Ready as soon as they are
scheduled), mount volumes or check that Secrets exist, honour grace periods or preStop hooks.
Every process is started in its own process group and stopped by that PID (SIGTERM, then
SIGKILL to the group), at stop(), on a failed start, and at interpreter exit.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

import yaml
from etcd_server import EtcdServer, TlsFiles, free_port
from k8s_api import ApiError, KubeApi
from k8s_pki import SERVICE_CIDR, K8sPki, make_k8s_pki

ROOT = Path(__file__).resolve().parents[1]
# Keep in sync with scripts/setup-k8s.sh (K8S_VERSION).
K8S_VERSION = "v1.37.2"
TOOLS = ROOT / ".tools" / "k8s" / K8S_VERSION
BIN = TOOLS / "bin"
KWOK_STAGES = TOOLS / "kwok-stages.yaml"
SERVICE_MONITOR_CRD = TOOLS / "servicemonitor-crd.yaml"
# Nodes KWOK manages carry this annotation (kwokctl's convention).
KWOK_ANNOTATION = ("kwok.x-k8s.io/node", "fake")

_running: set[_Process] = set()


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_running):
        proc.stop(timeout=2)


def tool(name: str) -> Path:
    path = BIN / name
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{path} not found: run ./scripts/setup.sh (scripts/setup-k8s.sh "
                           f"builds Kubernetes {K8S_VERSION} and KWOK into .tools/k8s/)")
    return path


class _Process:
    """One component: its own process group, output appended to `log`."""

    def __init__(self, name: str, cmd: list[str], log: Path) -> None:
        self.name, self.log = name, log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        _running.add(self)

    def check_alive(self) -> None:
        code = self.proc.poll()
        if code is not None:
            raise RuntimeError(f"{self.name} exited with code {code}\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return f"--- last {lines} lines of {self.log} ---\n" + "\n".join(text)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to the process (by PID), then SIGKILL to its whole group; reaped."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # leftovers it may have forked
        self.proc.wait()
        _running.discard(self)


def _kubeconfig(path: Path, server: str, tls: TlsFiles) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "test", "cluster": {
            "server": server, "certificate-authority": str(tls.ca)}}],
        "users": [{"name": "test", "user": {
            "client-certificate": str(tls.cert), "client-key": str(tls.key)}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}],
    }))
    path.chmod(0o600)
    return path


class KubeCluster:
    """etcd + control plane + KWOK with `nodes` fake nodes named kwok-node-<i>."""

    def __init__(self, base: Path, *, nodes: int = 3) -> None:
        self.base = base
        self.node_names = [f"kwok-node-{i}" for i in range(nodes)]
        self.port = free_port()
        self.server = f"https://127.0.0.1:{self.port}"
        self._procs: list[_Process] = []
        self.etcd = EtcdServer(base / "etcd", "k8s")
        self.pki: K8sPki | None = None
        self._api: KubeApi | None = None
        self._kubeconfig: Path | None = None

    @property
    def api(self) -> KubeApi:
        assert self._api is not None, "cluster not started"
        return self._api

    @property
    def kubeconfig(self) -> Path:
        """The admin's kubeconfig (a system:masters user), for helm."""
        assert self._kubeconfig is not None, "cluster not started"
        return self._kubeconfig

    def _start(self, name: str, cmd: list[str]) -> _Process:
        proc = _Process(name, cmd, self.base / f"{name}.log")
        self._procs.append(proc)
        return proc

    def start(self) -> None:
        try:
            self._start_all()
        except BaseException:
            self.stop()
            raise

    def _start_all(self) -> None:
        binaries = {n: str(tool(n)) for n in
                    ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")}
        assert KWOK_STAGES.is_file(), f"{KWOK_STAGES} missing: run ./scripts/setup.sh"
        self.base.mkdir(parents=True, exist_ok=True)
        pki = self.pki = make_k8s_pki(self.base / "pki")
        self.etcd.start()
        apiserver = self._start("kube-apiserver", [
            binaries["kube-apiserver"],
            "--etcd-servers", self.etcd.client_url,
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
            "--secure-port", str(self.port),
            "--tls-cert-file", str(pki.server.cert),
            "--tls-private-key-file", str(pki.server.key),
            "--client-ca-file", str(pki.server.ca),
            "--authorization-mode", "RBAC",
            # The default plugins (PodSecurity, ServiceAccount, DefaultStorageClass, ...)
            # plus NodeRestriction, as kubeadm runs it.
            "--enable-admission-plugins", "NodeRestriction",
            "--service-cluster-ip-range", SERVICE_CIDR,
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file", str(pki.service_account_pub),
            "--service-account-signing-key-file", str(pki.service_account_key),
            # Nothing can reach a loopback address from a pod: publish no `kubernetes`
            # Endpoints for it (they would be refused as loopback anyway).
            "--endpoint-reconciler-type", "none",
            "--profiling=false",
        ])
        self._kubeconfig = _kubeconfig(self.base / "admin.kubeconfig", self.server,
                                       pki.clients["admin"])
        self._api = KubeApi(self.server, pki.clients["admin"])
        self._wait_ready(apiserver)

        configs = {user: _kubeconfig(self.base / f"{user}.kubeconfig", self.server, tls)
                   for user, tls in pki.clients.items()}
        self._start("kube-controller-manager", [
            binaries["kube-controller-manager"], *_component_flags(configs["controller-manager"]),
            "--use-service-account-credentials=true",
            "--service-account-private-key-file", str(pki.service_account_key),
            "--root-ca-file", str(pki.server.ca),
            "--cluster-signing-cert-file", str(pki.server.ca),
            "--cluster-signing-key-file", str(pki.ca_key),
            "--service-cluster-ip-range", SERVICE_CIDR,
            # An HPA raises its Deployment to minReplicas at its first sync: 2 s, not 15 s.
            "--horizontal-pod-autoscaler-sync-period", "2s",
        ])
        self._start("kube-scheduler", [
            binaries["kube-scheduler"], *_component_flags(configs["scheduler"]),
        ])
        self._start("kwok", [
            binaries["kwok"],
            "--kubeconfig", str(configs["kwok"]),
            "--config", str(KWOK_STAGES),
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector", "=".join(KWOK_ANNOTATION),
            "--node-lease-duration-seconds", "40",
            "--cidr", "10.244.0.0/16",
            "--node-ip", "10.0.0.1",
            "--server-address", f"127.0.0.1:{free_port()}",
        ])
        for name in self.node_names:
            self.api.create("/api/v1/nodes", _node(name))
        self.api.wait(self._nodes_ready, what=f"{len(self.node_names)} KWOK nodes Ready",
                      timeout=60)
        # The ServiceAccount controller makes `default` in each namespace: proof that the
        # controller manager runs with its RBAC identity.
        self.api.wait(lambda: self.api.exists("/api/v1/namespaces/default/serviceaccounts/default"),
                      what="the controller manager to create the default ServiceAccount")

    def _wait_ready(self, apiserver: _Process, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while True:
            apiserver.check_alive()
            try:
                self.api.get("/readyz")
                return
            except (ApiError, OSError) as e:
                last = str(e)
            if time.monotonic() >= deadline:
                raise RuntimeError(f"kube-apiserver not ready after {timeout:.0f}s ({last})\n"
                                   f"{apiserver.tail()}")
            time.sleep(0.2)

    def _nodes_ready(self) -> bool:
        for proc in self._procs:
            proc.check_alive()
        nodes = self.api.items("/api/v1/nodes")
        ready = {n["metadata"]["name"] for n in nodes for c in n.get("status", {}).get(
            "conditions", []) if c["type"] == "Ready" and c["status"] == "True"}
        return ready >= set(self.node_names)

    def logs(self) -> str:
        """The tail of every component's log (for a failure message)."""
        return "\n".join(p.tail(15) for p in self._procs)

    def stop(self) -> None:
        for proc in reversed(self._procs):
            proc.stop()
        self._procs.clear()
        self.etcd.stop()

    def __enter__(self) -> KubeCluster:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _component_flags(kubeconfig: Path) -> list[str]:
    """What the controller manager and the scheduler share: one identity for the API and for
    their own authn/authz delegation, no serving port, a single instance (no election)."""
    return ["--kubeconfig", str(kubeconfig), "--authentication-kubeconfig", str(kubeconfig),
            "--authorization-kubeconfig", str(kubeconfig), "--secure-port", "0",
            "--leader-elect=false"]


def _node(name: str) -> dict[str, object]:
    """A Node for KWOK to manage, with a kubelet's usual labels and room for many pods."""
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "annotations": {KWOK_ANNOTATION[0]: KWOK_ANNOTATION[1]},
                     "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                "kubernetes.io/arch": "amd64", "type": "kwok"}},
        "status": {"allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                   "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"}},
    }
