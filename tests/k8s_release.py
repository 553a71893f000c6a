"""One Helm release of the chart on the test cluster (tests/k8s_cluster.py), and the checks the
chart's lifecycle tests make of it: its objects exist and its workloads are ready, a config
change rolls the pods, a node drain goes through the Eviction API and its PDBs, and uninstall
leaves only what docs/deploy.md says it keeps.

    rel = Release(cluster, "defaults", VALUE_SETS["defaults"], tmp_path)
    rel.install(); rel.check_ready(); rel.upgrade_rolls(); rel.drain(); rel.uninstall()
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from helm_chart import CHART, Doc, helm, parse_manifests, values_args
from k8s_api import ApiError, KubeApi, Obj
from k8s_cluster import K8S_VERSION, KubeCluster

# The release name docs/deploy.md uses, so its label selectors apply as written.
RELEASE = "locks"
DEPLOY_DOC = Path(__file__).resolve().parents[1] / "docs" / "deploy.md"
INSTANCE = f"app.kubernetes.io/instance={RELEASE}"


def selector(match_labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(match_labels.items()))


def ready(pod: Obj) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in pod.get("status", {}).get("conditions", []))


class Release:
    def __init__(self, cluster: KubeCluster, name: str, values: Doc, workdir: Path, *,
                 chart: Path = CHART) -> None:
        self.cluster, self.api = cluster, cluster.api
        self.ns = f"v-{name}"
        self.values, self.chart, self.workdir = values, chart, workdir
        workdir.mkdir(parents=True, exist_ok=True)
        # What the chart renders for this cluster's version: the objects to find on it.
        self.docs = parse_manifests(helm(
            "template", RELEASE, str(chart), "--namespace", self.ns,
            *values_args(workdir, values), "--kube-version", K8S_VERSION.lstrip("v")))

    # --- helm ---------------------------------------------------------------------------------
    def helm(self, *args: str) -> str:
        return helm(*args, "--namespace", self.ns, "--kubeconfig", str(self.cluster.kubeconfig))

    def install(self, timeout: str = "100s") -> None:
        self._prepare_namespace()
        self.helm("install", RELEASE, str(self.chart), *values_args(self.workdir, self.values),
                  "--wait", "--timeout", timeout)

    def status(self) -> str:
        info: str = json.loads(self.helm("status", RELEASE, "-o", "json"))["info"]["status"]
        return info

    # --- setup the chart expects from the operator -------------------------------------------
    def _prepare_namespace(self) -> None:
        """The namespace, enforcing the `restricted` Pod Security Standard (the chart's pods
        must pass it, or no pod is created), the Secrets the value sets name, and
        PersistentVolumes for the bundled etcd's claims (this cluster has no provisioner)."""
        api, pki = self.api, self.cluster.pki
        assert pki is not None
        api.create("/api/v1/namespaces", {"metadata": {"name": self.ns, "labels": {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest"}}})
        tls = {"tls.crt": pki.server.cert.read_text(), "tls.key": pki.server.key.read_text(),
               "ca.crt": pki.server.ca.read_text()}
        secrets: dict[str, tuple[str, dict[str, str]]] = {
            "tl-server-tls": ("kubernetes.io/tls", tls),
            "tl-client-ca": ("Opaque", {"ca.crt": tls["ca.crt"]}),
            "tl-etcd-client": ("kubernetes.io/tls", tls),
            "threadlock-auth": ("Opaque", {"auth.yaml": "api_keys: []\n"}),
        }
        for name, (kind, data) in secrets.items():
            api.create(api.path("v1", "Secret", namespace=self.ns), {
                "metadata": {"name": name}, "type": kind, "stringData": data})
        for sts in self.find("StatefulSet"):
            for claim in sts["spec"].get("volumeClaimTemplates", []):
                for i in range(sts["spec"]["replicas"]):
                    api.create("/api/v1/persistentvolumes", {"metadata": {
                        "name": f"{self.ns}-{claim['metadata']['name']}-{i}"}, "spec": {
                        "capacity": claim["spec"]["resources"]["requests"],
                        "accessModes": claim["spec"]["accessModes"],
                        "storageClassName": claim["spec"].get("storageClassName", ""),
                        "persistentVolumeReclaimPolicy": "Retain",
                        "hostPath": {"path": f"/var/lib/kwok-pv/{self.ns}/{i}"}}})

    # --- lookups ------------------------------------------------------------------------------
    def find(self, kind: str) -> list[Doc]:
        return [d for d in self.docs if d["kind"] == kind]

    def obj_path(self, doc: Doc) -> str:
        return KubeApi.path(doc["apiVersion"], doc["kind"], doc["metadata"]["name"],
                            namespace=self.ns)

    def pods(self, match_labels: dict[str, str], **query: str) -> list[Obj]:
        return self.api.items(KubeApi.path("v1", "Pod", namespace=self.ns),
                              labelSelector=selector(match_labels), **query)

    def workloads(self) -> list[tuple[Obj, int]]:
        """(live Deployment or StatefulSet, replicas it must have ready). Under an HPA the
        Deployment has no replicas field: the HPA brings it to minReplicas."""
        found = []
        hpa = {d["spec"]["scaleTargetRef"]["name"]: d["spec"]["minReplicas"]
               for d in self.find("HorizontalPodAutoscaler")}
        for doc in self.find("Deployment") + self.find("StatefulSet"):
            name = doc["metadata"]["name"]
            want = doc["spec"].get("replicas", hpa.get(name, 1))
            found.append((self.api.get(self.obj_path(doc)), want))
        return found

    # --- checks -------------------------------------------------------------------------------
    def wait_workloads_ready(self, timeout: float = 120.0) -> None:
        def all_ready() -> bool:
            for live, want in self.workloads():
                s = live["status"]
                if not (live["spec"]["replicas"] == want
                        and s.get("observedGeneration", 0) >= live["metadata"]["generation"]
                        and s.get("readyReplicas", 0) == want
                        and s.get("updatedReplicas", 0) == want
                        and s.get("availableReplicas", 0) == want):
                    return False
                # No pod beyond the wanted ones (e.g. an old one still terminating).
                if len(self.pods(live["spec"]["selector"]["matchLabels"])) != want:
                    return False
            return True
        self.api.wait(all_ready, what=f"{self.ns}: every workload ready", timeout=timeout)

    def check_ready(self) -> None:
        assert self.status() == "deployed"
        for doc in self.docs:
            assert self.api.exists(self.obj_path(doc)), f"{doc['kind']} {doc['metadata']['name']}"
        self.wait_workloads_ready()
        self.wait_pdbs_settled()
        for doc in self.find("Service"):
            self._check_endpoints(doc)
        for sts in self.find("StatefulSet"):
            if sts["spec"].get("volumeClaimTemplates"):
                claims = self.api.items(KubeApi.path("v1", "PersistentVolumeClaim",
                                                     namespace=self.ns))
                assert [c["status"]["phase"] for c in claims] == \
                    ["Bound"] * sts["spec"]["replicas"], claims

    def wait_pdbs_settled(self) -> None:
        for doc in self.find("PodDisruptionBudget"):
            self.api.wait(functools.partial(self._pdb_settled, doc),
                          what=f"PDB {doc['metadata']['name']} counting every ready pod")

    def _pdb_settled(self, doc: Doc) -> bool:
        """The disruption controller has counted the budget: every selected pod healthy, and
        the disruptions allowed follow from min/maxUnavailable."""
        live = self.api.get(self.obj_path(doc))
        s, spec = live.get("status", {}), live["spec"]
        pods = [p for p in self.pods(spec["selector"]["matchLabels"]) if ready(p)]
        if s.get("observedGeneration") != live["metadata"]["generation"] or not pods:
            return False
        healthy = len(pods)
        allowed = (min(spec["maxUnavailable"], healthy) if "maxUnavailable" in spec
                   else healthy - spec["minAvailable"])
        return bool(s.get("currentHealthy") == healthy and s.get("expectedPods") == healthy
                    and s.get("disruptionsAllowed") == allowed)

    def _check_endpoints(self, svc: Doc) -> None:
        """The EndpointSlice controller publishes every ready selected pod on the Service's
        ports (a Service whose selector or ports match no pod would publish none)."""
        name = svc["metadata"]["name"]
        pods = [p for p in self.pods(svc["spec"]["selector"]) if ready(p)]
        assert pods, f"Service {name} selects no ready pod"
        ports = sorted(p["name"] for p in svc["spec"]["ports"])

        def published() -> bool:
            slices = self.api.items(KubeApi.path("discovery.k8s.io/v1", "EndpointSlice",
                                                 namespace=self.ns),
                                    labelSelector=f"kubernetes.io/service-name={name}")
            ips = sorted(a for s in slices for e in s.get("endpoints") or []
                         if e["conditions"].get("ready") for a in e["addresses"])
            return ips == sorted(p["status"]["podIP"] for p in pods) and all(
                sorted(p["name"] for p in s.get("ports") or []) == ports for s in slices)
        self.api.wait(published, what=f"EndpointSlices of Service {name}: {len(pods)} ready")

    # --- upgrade --------------------------------------------------------------------------------
    def upgrade_rolls(self) -> None:
        """`helm upgrade --reuse-values` with one server value changed (docs/deploy.md, section
        6): the ConfigMap checksum in the pod template changes, so every coordinator pod is
        replaced by one of a new ReplicaSet, and the old ones are gone."""
        deploy = self.find("Deployment")[0]
        match = deploy["spec"]["selector"]["matchLabels"]
        before = {p["metadata"]["labels"]["pod-template-hash"] for p in self.pods(match)}
        assert len(before) == 1, before
        self.helm("upgrade", RELEASE, str(self.chart), "--reuse-values",
                  "--set", "server.logLevel=DEBUG", "--wait", "--timeout", "100s")
        assert self.status() == "deployed"
        config = self.api.get(self.obj_path(self.find("ConfigMap")[0]))
        assert "DEBUG" in json.dumps(config["data"]), config["data"]
        self.wait_workloads_ready()
        after = {p["metadata"]["labels"]["pod-template-hash"] for p in self.pods(match)}
        assert len(after) == 1 and after.isdisjoint(before), (before, after)
        revision = self.api.get(self.obj_path(deploy))["metadata"]["annotations"]
        assert revision["deployment.kubernetes.io/revision"] == "2", revision

    # --- drain ----------------------------------------------------------------------------------
    def cordon(self, node: str, unschedulable: bool = True) -> None:
        self.api.merge_patch(f"/api/v1/nodes/{node}", {"spec": {"unschedulable": unschedulable}})

    def evict_until_allowed(self, pod: str, timeout: float = 90.0) -> None:
        """Evict like `kubectl drain`: retry while a PDB answers 429."""
        def attempt() -> bool:
            try:
                self.api.evict(self.ns, pod)
            except ApiError as e:
                if e.status == 404:
                    return True  # already gone
                if e.status != 429:
                    raise
                return False
            return True
        self.api.wait(attempt, what=f"eviction of {pod} to be allowed", timeout=timeout)

    def drain(self) -> str:
        """Drain the node of one coordinator pod through the Eviction API.

        First every node is cordoned, so that evicted pods cannot be replaced yet: evicting
        one coordinator pod is allowed (maxUnavailable 1, even with one replica), and evicting
        a second then is refused with 429 by the PodDisruptionBudget. Then the other nodes are
        uncordoned and the node is drained (evictions retried while a PDB refuses): its pods
        run elsewhere, every workload is ready again, and the node holds none of them."""
        self.wait_pdbs_settled()  # the budgets count the pods the upgrade made
        match = self.find("Deployment")[0]["spec"]["selector"]["matchLabels"]
        coordinators = sorted((p for p in self.pods(match) if ready(p)),
                              key=lambda p: p["metadata"]["name"])
        first, others = coordinators[0], coordinators[1:]
        node: str = first["spec"]["nodeName"]
        nodes = self.cluster.node_names
        for n in nodes:
            self.cordon(n)
        try:
            self.api.evict(self.ns, first["metadata"]["name"])
            if others:
                try:
                    self.api.evict(self.ns, others[0]["metadata"]["name"])
                except ApiError as e:
                    assert e.status == 429, e
                    assert "disruption budget" in e.body.get("message", ""), e.body
                else:
                    raise AssertionError("a second eviction passed the coordinator's PDB")
        finally:
            for n in nodes:
                if n != node:
                    self.cordon(n, False)
        on_node = {"fieldSelector": f"spec.nodeName={node}"}
        for pod in self.pods({"app.kubernetes.io/instance": RELEASE}, **on_node):
            self.evict_until_allowed(pod["metadata"]["name"])
        self.api.wait(lambda: not self.pods({"app.kubernetes.io/instance": RELEASE}, **on_node),
                      what=f"no pod of the release left on the drained node {node}")
        self.wait_workloads_ready()
        self.cordon(node, False)
        return node

    # --- uninstall ------------------------------------------------------------------------------
    def uninstall(self) -> None:
        """`helm uninstall`, then docs/deploy.md's PVC deletion: nothing of the release is left
        (its Deployment's ReplicaSets and pods go through the garbage collector)."""
        self.helm("uninstall", RELEASE, "--wait", "--timeout", "100s")
        for doc in self.docs:
            self.api.wait(functools.partial(self._gone, doc),
                          what=f"{doc['kind']} {doc['metadata']['name']} deleted")
        left = self._left()
        kept = left.get("PersistentVolumeClaim", [])
        want_kept = sum(s["spec"]["replicas"] for s in self.find("StatefulSet")
                        if s["spec"].get("volumeClaimTemplates"))
        assert len(kept) == want_kept, kept  # "The bundled etcd's volumes are kept"
        doc_selector = re.search(r"delete pvc -l (\S+)", DEPLOY_DOC.read_text())
        assert doc_selector, "docs/deploy.md: no `kubectl delete pvc -l` in section 9"
        claims = KubeApi.path("v1", "PersistentVolumeClaim", namespace=self.ns)
        self.api.request("DELETE", claims, query={"labelSelector": doc_selector[1]})
        self.api.wait(lambda: not any(self._left().values()),
                      what=f"nothing of the release left in {self.ns}: {self._left()}")

    def _gone(self, doc: Doc) -> bool:
        return not self.api.exists(self.obj_path(doc))

    def _left(self) -> dict[str, list[str]]:
        kinds = {"Pod": "v1", "PersistentVolumeClaim": "v1", "ReplicaSet": "apps/v1",
                 "ControllerRevision": "apps/v1", "EndpointSlice": "discovery.k8s.io/v1"}
        found: dict[str, list[str]] = {}
        services = {d["metadata"]["name"] for d in self.find("Service")}
        for kind, version in kinds.items():
            items = self.api.items(KubeApi.path(version, kind, namespace=self.ns))
            names = [i["metadata"]["name"] for i in items
                     if i["metadata"].get("labels", {}).get("app.kubernetes.io/instance") == RELEASE
                     or i["metadata"].get("labels", {}).get("kubernetes.io/service-name")
                     in services]
            if names:
                found[kind] = names
        return found
