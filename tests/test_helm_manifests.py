"""What the rendered chart must look like to run well in a cluster: rollouts that never lose
a ready replica, disruption budgets that allow drains, locked-down pods, spread replicas,
native gRPC probes on the right port, and a bundled etcd whose members can find each other."""

from __future__ import annotations

from typing import Any

import pytest
from helm_chart import NAMESPACE, VALUE_SETS, Doc, container, find, one, render, template

from threadlock.server import LIVENESS_SERVICE

ALL = sorted(VALUE_SETS)

def _env(docs: list[Doc]) -> dict[str, str]:
    data: dict[str, str] = one(docs, "ConfigMap")["data"]
    return data


def _port(c: Doc, name: str) -> int:
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert name in ports, f"container has no port named {name}: {ports}"
    return int(ports[name])


def _pod(docs: list[Doc], kind: str = "Deployment", component: str = "coordinator") -> Doc:
    spec: Doc = one(docs, kind, component)["spec"]["template"]
    return spec


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("name", ALL)
def test_rolling_update_never_drops_a_ready_replica(name: str) -> None:
    docs = render(name)
    deployment = one(docs, "Deployment")
    strategy = deployment["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0
    assert strategy["rollingUpdate"]["maxSurge"] >= 1
    if VALUE_SETS[name].get("autoscaling", {}).get("enabled"):
        # The HPA owns the count; a replicas field would fight it on every upgrade.
        assert "replicas" not in deployment["spec"]
        hpa = one(docs, "HorizontalPodAutoscaler")
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                                 "name": deployment["metadata"]["name"]}
        assert hpa["spec"]["minReplicas"] >= 2
    elif name != "bundled-ephemeral":
        assert deployment["spec"]["replicas"] >= 2


def test_default_is_two_replicas() -> None:
    assert one(render("defaults"), "Deployment")["spec"]["replicas"] == 2


@pytest.mark.parametrize("name", ALL)
def test_disruption_budgets_select_their_pods_and_allow_a_drain(name: str) -> None:
    docs = render(name)
    deployment = one(docs, "Deployment")
    replicas = deployment["spec"].get("replicas", VALUE_SETS[name].get("autoscaling", {})
                                      .get("minReplicas"))
    pdb = one(docs, "PodDisruptionBudget")
    pod_labels = _pod(docs)["metadata"]["labels"]
    assert pdb["spec"]["selector"] == deployment["spec"]["selector"]
    assert _selects(pdb["spec"]["selector"]["matchLabels"], pod_labels)
    # Exactly one of the two fields; either way at least one pod may be evicted, and with 2+
    # replicas at least one stays.
    assert "minAvailable" not in pdb["spec"]
    assert 1 <= pdb["spec"]["maxUnavailable"] < max(replicas, 2)

    for etcd_pdb in [d for d in find(docs, "PodDisruptionBudget") if d is not pdb]:
        members = one(docs, "StatefulSet", "etcd")["spec"]["replicas"]
        # A majority must stay up (quorum), and a drain must still be possible.
        assert etcd_pdb["spec"]["minAvailable"] == members // 2 + 1 < members
        assert _selects(etcd_pdb["spec"]["selector"]["matchLabels"],
                        _pod(docs, "StatefulSet", "etcd")["metadata"]["labels"])
        assert not _selects(etcd_pdb["spec"]["selector"]["matchLabels"], pod_labels)


def _workloads(docs: list[Doc]) -> list[tuple[Doc, Doc]]:
    """(pod template spec, container) of every workload."""
    out = []
    for kind, component in (("Deployment", "coordinator"), ("StatefulSet", "etcd")):
        if any(d["kind"] == kind for d in docs):
            out.append((_pod(docs, kind, component)["spec"], container(docs, kind, component)))
    return out


@pytest.mark.parametrize("name", ALL)
def test_pods_are_locked_down(name: str) -> None:
    for pod, c in _workloads(render(name)):
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] > 0
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        sc = c["securityContext"]
        assert sc["runAsNonRoot"] is True
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert "memory" in c["resources"]["limits"] and c["resources"]["requests"]
    service_account = find(render(name), "ServiceAccount")[0]
    assert service_account["automountServiceAccountToken"] is False
    assert _pod(render(name))["spec"]["serviceAccountName"] == \
        service_account["metadata"]["name"]


@pytest.mark.parametrize("name", ALL)
def test_replicas_prefer_different_nodes(name: str) -> None:
    docs = render(name)
    pod = _pod(docs)
    terms = pod["spec"]["affinity"]["podAntiAffinity"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in terms  # soft: never Pending
    (term,) = terms["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert _selects(term["podAffinityTerm"]["labelSelector"]["matchLabels"],
                    pod["metadata"]["labels"])


def test_bundled_etcd_anti_affinity_can_be_hard() -> None:
    terms = _pod(render("bundled-etcd"), "StatefulSet", "etcd")["spec"]["affinity"][
        "podAntiAffinity"]
    (term,) = terms["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    soft = _pod(render("defaults"), "StatefulSet", "etcd")["spec"]["affinity"]["podAntiAffinity"]
    assert list(soft) == ["preferredDuringSchedulingIgnoredDuringExecution"]


@pytest.mark.parametrize("name", ALL)
def test_probes_are_native_grpc_on_the_health_port(name: str) -> None:
    docs = render(name)
    c = container(docs)
    # Always the plaintext health port: native probes cannot speak TLS, and a NetworkPolicy
    # may keep the API port to clients only.
    expected = _port(c, "health")
    assert expected != _port(c, "grpc")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert set(c[probe]) >= {"grpc", "periodSeconds", "timeoutSeconds",
                                 "failureThreshold"}, probe
        assert c[probe]["grpc"]["port"] == expected, probe
        assert "httpGet" not in c[probe] and "exec" not in c[probe] and "tcpSocket" not in c[probe]
    # Startup and liveness must not depend on etcd (an outage would restart every replica);
    # readiness must (a replica that cannot reach etcd gets no calls).
    assert c["startupProbe"]["grpc"] == {"port": expected, "service": LIVENESS_SERVICE}
    assert c["livenessProbe"]["grpc"] == {"port": expected, "service": LIVENESS_SERVICE}
    assert c["readinessProbe"]["grpc"].get("service", "") == ""


def _service(docs: list[Doc], component: str) -> Doc | None:
    found = [d for d in find(docs, "Service")
             if d["metadata"]["labels"]["app.kubernetes.io/component"] == component]
    assert len(found) <= 1
    return found[0] if found else None


@pytest.mark.parametrize("name", ALL)
def test_services_route_to_named_container_ports(name: str) -> None:
    docs = render(name)
    service = one(docs, "Service")
    c = container(docs)
    container_ports = {p["name"] for p in c["ports"]}
    assert _selects(service["spec"]["selector"], _pod(docs)["metadata"]["labels"])
    # The client-facing Service carries gRPC only, whatever its type.
    (grpc_port,) = service["spec"]["ports"]
    assert grpc_port["name"] == grpc_port["targetPort"] == "grpc"
    assert grpc_port["appProtocol"] == "grpc"
    metrics_on = VALUE_SETS[name].get("metrics", {}).get("enabled", True)
    metrics = _service(docs, "metrics")
    assert (metrics is not None) == metrics_on == ("metrics" in container_ports)
    assert ("THREADLOCK_METRICS_LISTEN" in _env(docs)) == metrics_on
    if metrics is not None:
        assert metrics["spec"]["type"] == "ClusterIP"
        assert metrics["spec"]["selector"] == service["spec"]["selector"]
        (port,) = metrics["spec"]["ports"]
        assert port["name"] == port["targetPort"] == "metrics"


def test_load_balancer_never_publishes_metrics() -> None:
    docs = template({"service": {"type": "LoadBalancer"}})
    exposed = [d for d in find(docs, "Service") if d["spec"].get("type") == "LoadBalancer"]
    assert [p["name"] for d in exposed for p in d["spec"]["ports"]] == ["grpc"]
    metrics = _service(docs, "metrics")
    assert metrics is not None and metrics["spec"]["type"] == "ClusterIP"


def test_service_monitor_scrapes_the_metrics_service_port() -> None:
    docs = render("all-optional-on")
    monitor = one(docs, "ServiceMonitor")
    service = _service(docs, "metrics")
    assert service is not None
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert _selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    # No other Service of the release (the client one, the etcd ones) may match the selector.
    others = [s for s in find(docs, "Service") if s is not service]
    assert len(others) >= 3 and not any(_selects(monitor["spec"]["selector"]["matchLabels"],
                                                 s["metadata"]["labels"]) for s in others)


def _probe_ports(c: Doc) -> set[str]:
    """Names of the container ports the kubelet's probes call."""
    by_number = {p["containerPort"]: p["name"] for p in c["ports"]}
    found = set()
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        if probe not in c:
            continue
        kind = next(k for k in ("grpc", "httpGet", "tcpSocket") if k in c[probe])
        port = c[probe][kind]["port"]
        found.add(port if isinstance(port, str) else by_number[port])
    return found


def _open_to_all(policy: Doc) -> set[str]:
    """Ports that an ingress rule of `policy` opens to every source (no `from`)."""
    return {p["port"] for rule in policy["spec"]["ingress"] if not rule.get("from")
            for p in rule["ports"]}


@pytest.mark.parametrize("tls", [True, False])
def test_network_policies_let_the_kubelet_probe(tls: bool) -> None:
    """The kubelet probes from the node's address, which no `from` peer names: every port a
    probe calls must be open to all sources, while gRPC stays with clientFrom."""
    values = dict(VALUE_SETS["all-optional-on"])
    if not tls:
        values.pop("tls")
    docs = template(values)
    policies = {p["metadata"]["labels"]["app.kubernetes.io/component"]: p
                for p in find(docs, "NetworkPolicy")}
    for component, kind in (("coordinator", "Deployment"), ("etcd", "StatefulSet")):
        probed = _probe_ports(container(docs, kind, component))
        assert probed and probed <= _open_to_all(policies[component]), (component, probed)
    assert "grpc" not in _open_to_all(policies["coordinator"])
    assert "client" not in _open_to_all(policies["etcd"])
    assert _probe_ports(container(docs)) == {"health"}


def test_network_policies_open_only_the_named_ports() -> None:
    docs = render("all-optional-on")
    c = container(docs)
    names = {p["name"] for p in c["ports"]}
    policies = {p["metadata"]["labels"]["app.kubernetes.io/component"]: p
                for p in find(docs, "NetworkPolicy")}
    coordinator = policies["coordinator"]["spec"]
    assert _selects(coordinator["podSelector"]["matchLabels"], _pod(docs)["metadata"]["labels"])
    opened = {port["port"] for rule in coordinator["ingress"] for port in rule["ports"]}
    assert opened == {"grpc", "health", "metrics"} <= names
    by_port = {rule["ports"][0]["port"]: rule for rule in coordinator["ingress"]}
    assert by_port["grpc"]["from"] == VALUE_SETS["all-optional-on"]["networkPolicy"]["clientFrom"]
    assert by_port["metrics"]["from"] == \
        VALUE_SETS["all-optional-on"]["networkPolicy"]["metricsFrom"]
    etcd = policies["etcd"]["spec"]
    etcd_ports = {p["name"] for p in container(docs, "StatefulSet", "etcd")["ports"]}
    opened = {port["port"] for rule in etcd["ingress"] for port in rule["ports"]}
    assert opened == {"client", "peer", "metrics"} == etcd_ports
    client_rule = next(r for r in etcd["ingress"] if r["ports"][0]["port"] == "client")
    assert any(_selects(peer["podSelector"]["matchLabels"], _pod(docs)["metadata"]["labels"])
               for peer in client_rule["from"])


def _arg(c: Doc, flag: str) -> str:
    values: list[str] = [a.split("=", 1)[1] for a in c["args"] if a.startswith(f"--{flag}=")]
    assert len(values) == 1, f"--{flag} given {len(values)} times"
    return values[0]


@pytest.mark.parametrize(("name", "members"), [("defaults", 3), ("bundled-etcd", 5),
                                               ("bundled-ephemeral", 1)])
def test_bundled_etcd_members_can_find_each_other(name: str, members: int) -> None:
    docs = render(name)
    sts = one(docs, "StatefulSet", "etcd")
    c = container(docs, "StatefulSet", "etcd")
    assert sts["spec"]["replicas"] == members
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    services = {s["metadata"]["name"]: s for s in find(docs, "Service")}
    headless = services[sts["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    domain = f"{headless['metadata']['name']}.{NAMESPACE}.svc.cluster.local"
    sts_name = sts["metadata"]["name"]
    expected = [f"{sts_name}-{i}=http://{sts_name}-{i}.{domain}:2380" for i in range(members)]
    assert _arg(c, "initial-cluster").split(",") == expected
    assert _arg(c, "name") == "$(POD_NAME)"
    assert _arg(c, "initial-advertise-peer-urls") == f"http://$(POD_NAME).{domain}:2380"
    assert _arg(c, "auto-compaction-mode") == "periodic"
    assert c["env"][0]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    # The coordinator gets every member's own address (its etcd client fails over between
    # the endpoints it knows), each one a member's advertised client URL.
    endpoints = _env(docs)["THREADLOCK_ETCD_ENDPOINTS"].split(",")
    assert endpoints == [f"http://{sts_name}-{i}.{domain}:2379" for i in range(members)]
    advertised = _arg(c, "advertise-client-urls")
    assert [advertised.replace("$(POD_NAME)", f"{sts_name}-{i}")
            for i in range(members)] == endpoints
    client_port = next(p for p in headless["spec"]["ports"] if p["name"] == "client")
    assert client_port["port"] == 2379
    data_mount = next(m for m in c["volumeMounts"] if m["name"] == "data")
    assert _arg(c, "data-dir").startswith(data_mount["mountPath"] + "/")
    persistent = VALUE_SETS[name].get("etcd", {}).get("bundled", {}).get(
        "persistence", {}).get("enabled", True)
    claims: list[Any] = sts["spec"].get("volumeClaimTemplates", [])
    assert bool(claims) == persistent
    if persistent:
        assert claims[0]["metadata"]["name"] == "data"
    else:
        assert sts["spec"]["template"]["spec"]["volumes"] == [{"name": "data", "emptyDir": {}}]


def test_bundled_etcd_persistence_values_reach_the_claims() -> None:
    (claim,) = one(render("bundled-etcd"), "StatefulSet", "etcd")["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "fast"
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"


def test_external_etcd_endpoints_are_passed_as_given() -> None:
    env = _env(render("external-etcd"))
    assert env["THREADLOCK_ETCD_ENDPOINTS"] == \
        "http://etcd-a.db:2379,http://etcd-b.db:2379,http://etcd-c.db:2379"


def test_config_change_rolls_the_pods() -> None:
    def checksum(values: Doc) -> str:
        value: str = _pod(template(values))["metadata"]["annotations"]["checksum/config"]
        return value

    assert checksum({}) == checksum({})
    assert checksum({}) != checksum({"server": {"logLevel": "DEBUG"}})
