"""The chart on a real kube-apiserver (Kubernetes 1.37, tests/k8s_cluster.py) whose nodes are
KWOK's: for every value set the render tests use (helm_chart.VALUE_SETS, plus auth with the
HTTP port), `helm install --wait` in a namespace enforcing the `restricted` Pod Security
Standard, then: every rendered object exists, the workloads are ready, the PDBs count their
pods, the EndpointSlices publish the ready pods on the Services' ports; a config-change
`helm upgrade` rolls the coordinator pods; a node drain through the Eviction API is held back
by the PodDisruptionBudget (429) and then completes; `helm uninstall` leaves nothing but the
etcd volumes docs/deploy.md says it keeps, and its PVC command removes those.

A chart the offline schemas accept but the apiserver refuses fails the install (last test).

KWOK runs no container: images, probes, mounted Secrets and grace periods are not exercised
here (tests/test_helm_serve.py and tests/test_helm_etcd_run.py run what the pods would run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from background_builds import ROOT, finish
from helm_chart import CHART, VALUE_SETS, Doc, HelmError
from k8s_api import KubeApi
from k8s_cluster import K8S_VERSION, SERVICE_MONITOR_CRD, KubeCluster
from k8s_release import RELEASE, Release
from k8s_schemas import check

pytestmark = pytest.mark.etcd

# The render tests' value sets, and authentication with the HTTP port (tests/test_auth_helm.py,
# tests/test_http_helm.py).
CASES: dict[str, Doc] = {**VALUE_SETS, "auth-http": {
    "auth": {"enabled": True, "secretName": "threadlock-auth"}, "http": {"enabled": True}}}
# bundled-etcd wants 5 members on 5 distinct nodes ("hard" anti-affinity), and one node more
# so a member can move off a drained node.
NODES = 6


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    # scripts/test.sh builds the binaries in the background; plain pytest builds them here.
    finish("k8s", [ROOT / "scripts" / "setup-k8s.sh"], timeout=3600)
    with KubeCluster(tmp_path_factory.mktemp("k8s"), nodes=NODES) as c:
        # The Prometheus Operator's own CRD: the ServiceMonitor is validated by its schema.
        crd = yaml.safe_load(SERVICE_MONITOR_CRD.read_text())
        path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        c.api.create(path, crd)
        c.api.wait(lambda: any(
            cond["type"] == "Established" and cond["status"] == "True"
            for cond in (c.api.get(f"{path}/{crd['metadata']['name']}").get("status", {}).get(
                "conditions") or [])), what="the ServiceMonitor CRD established")
        yield c


# First in this module (conftest runs the module last): the cluster fixture waits here for
# scripts/test.sh's background build of the binaries.
@pytest.mark.timeout(3900)
def test_cluster_runs_the_version_setup_builds(cluster: KubeCluster) -> None:
    version = cluster.api.get("/version")
    assert version["gitVersion"] == K8S_VERSION, version
    nodes = cluster.api.items("/api/v1/nodes")
    assert len(nodes) == NODES
    # A pod on a KWOK node gets an IP and turns Ready; its deletion completes.
    pods = KubeApi.path("v1", "Pod", namespace="default")
    cluster.api.create(pods, {"metadata": {"name": "probe"}, "spec": {
        "containers": [{"name": "c", "image": "nothing.example/none:0"}]}})
    cluster.api.wait(lambda: cluster.api.get(f"{pods}/probe")["status"].get("podIP") and any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in cluster.api.get(f"{pods}/probe")["status"].get("conditions", [])),
        what="a pod on a KWOK node Running and Ready")
    cluster.api.request("DELETE", f"{pods}/probe")
    cluster.api.wait(lambda: not cluster.api.exists(f"{pods}/probe"), what="the pod deleted")


@pytest.mark.timeout(420)
@pytest.mark.parametrize("name", sorted(CASES))
def test_install_upgrade_drain_uninstall(cluster: KubeCluster, tmp_path: Path,
                                         name: str) -> None:
    rel = Release(cluster, name, CASES[name], tmp_path)
    try:
        rel.install()
        rel.check_ready()
        rel.upgrade_rolls()
        rel.drain()
        rel.uninstall()
    except BaseException as e:
        e.add_note(cluster.logs())
        raise


def test_a_chart_the_apiserver_refuses_fails_the_install(cluster: KubeCluster,
                                                          tmp_path: Path) -> None:
    """A Deployment whose selector does not match its pod template's labels: valid against
    the offline schemas (field types only), refused by the apiserver's validation."""
    broken = tmp_path / "chart"
    shutil.copytree(CHART, broken)
    deployment = broken / "templates" / "deployment.yaml"
    text = deployment.read_text()
    anchor = '      {{- include "threadlock.selectorLabels" . | nindent 6 }}\n  strategy:'
    assert text.count(anchor) == 1, "the Deployment's selector moved: update this test"
    deployment.write_text(text.replace(
        anchor, anchor.replace("\n  strategy:", "\n      tier: broken\n  strategy:")))

    rel = Release(cluster, "broken", {}, tmp_path / "values", chart=broken)
    for doc in rel.docs:  # offline, the broken chart passes: types and fields are right
        check(doc, ".".join(K8S_VERSION.lstrip("v").split(".")[:2]))
    with pytest.raises(HelmError) as refused:
        rel.install(timeout="30s")
    assert "selector` does not match template `labels`" in str(refused.value), refused.value
    assert rel.status() == "failed"
    deployments = cluster.api.items(KubeApi.path("apps/v1", "Deployment", namespace=rel.ns))
    assert deployments == []
    rel.helm("uninstall", RELEASE, "--wait")



def test_pods_breaking_the_restricted_standard_fail_the_install(cluster: KubeCluster,
                                                                tmp_path: Path) -> None:
    """The namespaces enforce the `restricted` Pod Security Standard, so the installs above
    prove the chart's pods pass it: here a container allowed to escalate privileges (a value
    the chart passes through) is refused, and `helm install --wait` fails."""
    values: Doc = {"etcd": {"mode": "external", "external": {"endpoints": ["http://e:2379"]}},
                   "securityContext": {"allowPrivilegeEscalation": True, "runAsNonRoot": True,
                                       "capabilities": {"drop": ["ALL"]}}}
    rel = Release(cluster, "privileged", values, tmp_path)
    with pytest.raises(HelmError):
        rel.install(timeout="15s")
    assert rel.status() == "failed"
    sets = cluster.api.items(KubeApi.path("apps/v1", "ReplicaSet", namespace=rel.ns))
    failures = [c["message"] for rs in sets for c in rs["status"].get("conditions", [])
                if c["type"] == "ReplicaFailure"]
    assert failures and all('violates PodSecurity "restricted:latest"' in m
                            and "allowPrivilegeEscalation" in m for m in failures), failures
    assert cluster.api.items(KubeApi.path("v1", "Pod", namespace=rel.ns)) == []
    rel.helm("uninstall", RELEASE, "--wait")


def test_setup_k8s_names_an_unknown_extra_target() -> None:
    """scripts/setup-k8s.sh builds extra commands of the Kubernetes tree on request
    (K8S_EXTRA_TARGETS); one that is not there fails at once, naming it, building nothing."""
    script = ROOT / "scripts" / "setup-k8s.sh"
    run = subprocess.run([str(script)], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "K8S_EXTRA_TARGETS": "kubelet no-such-command"})
    assert run.returncode == 1, run
    assert f"no cmd/no-such-command in k8s.io/kubernetes@{K8S_VERSION}" in run.stderr, run.stderr
    assert "building" not in run.stdout, run.stdout
