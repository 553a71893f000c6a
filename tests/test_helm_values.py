"""Values that must reach the rendered objects (or be allowed) and defaults that must be safe:
the coordinator's disruption budget lets drains evict unready pods where Kubernetes supports
it, the bundled etcd compacts its history soon and has memory for its whole database, and the
knobs operators need (probe timeouts, etcd's security contexts, a CPU target above 100 %, a
service port equal to the metrics port) work."""

from __future__ import annotations

import argparse
import re

import pytest
import yaml
from helm_chart import CHART, Doc, HelmError, container, find, one, template
from k8s_schemas import check, versions_to_check

from threadlock.tracing import from_config

NEWEST = versions_to_check()[-1]


@pytest.mark.parametrize(("kube", "present"), [("1.25.0", False), ("1.26.5", False),
                                               ("1.27.0", True), ("1.30.2", True),
                                               (f"{NEWEST}.0", True)])
def test_pdb_lets_drains_evict_unready_pods_where_supported(kube: str, present: bool) -> None:
    """During an etcd outage every replica is unready; the default eviction policy would then
    block every drain. The field exists (beta, on by default) from Kubernetes 1.27."""
    docs = template({}, kube)
    pdb = one(docs, "PodDisruptionBudget")
    assert ("unhealthyPodEvictionPolicy" in pdb["spec"]) == present
    if present:
        assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    # The etcd budget keeps the default: evicting an unready member may cost the quorum.
    assert "unhealthyPodEvictionPolicy" not in one(docs, "PodDisruptionBudget", "etcd")["spec"]
    version = ".".join(kube.split(".")[:2])
    if version in versions_to_check():
        check(pdb, version)


_UNITS = {"": 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
          "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def _bytes(quantity: str | int) -> int:
    match = re.fullmatch(r"([0-9.]+)([KMGT]i?|k)?", str(quantity))
    assert match, f"not a memory quantity this test knows: {quantity}"
    return int(float(match.group(1)) * _UNITS[match.group(2) or ""])


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(s|m|h)?", duration)
    assert match, duration
    # etcd reads a bare number as hours.
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600, None: 3600}[match.group(2)]


def test_bundled_etcd_defaults_compact_soon_and_fit_the_database_in_memory() -> None:
    c = container(template({}), "StatefulSet", "etcd")
    args = dict(a.removeprefix("--").split("=", 1) for a in c["args"] if "=" in a)
    # The coordinator watches from revisions it read seconds before: minutes of history are
    # plenty, and hours of every lease renewal only grow the database towards its quota.
    assert args["auto-compaction-mode"] == "periodic"
    assert 60 <= _seconds(args["auto-compaction-retention"]) <= 10 * 60
    # etcd maps the whole database into memory: a limit below the quota gets a full member
    # OOM-killed instead of raising NOSPACE.
    quota = int(args["quota-backend-bytes"])
    assert _bytes(c["resources"]["limits"]["memory"]) > quota
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert quota == values["etcd"]["bundled"]["quotaBackendBytes"]


def test_probe_timeouts_reach_every_probe() -> None:
    c = container(template({"probes": {"startup": {"timeoutSeconds": 7},
                                       "readiness": {"timeoutSeconds": 3},
                                       "liveness": {"timeoutSeconds": 9}}}))
    assert [c[p]["timeoutSeconds"] for p in ("startupProbe", "readinessProbe",
                                             "livenessProbe")] == [7, 3, 9]


def test_etcd_security_contexts_are_configurable() -> None:
    docs = template({"etcd": {"bundled": {
        "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 1001, "fsGroup": 1001},
        "securityContext": {"readOnlyRootFilesystem": True, "runAsNonRoot": True,
                            "allowPrivilegeEscalation": False, "privileged": False}}}})
    pod = one(docs, "StatefulSet", "etcd")["spec"]["template"]["spec"]
    # Helm merges the given keys into the defaults.
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["fsGroup"]) == (1001,
                                                                                        1001)
    assert container(docs, "StatefulSet", "etcd")["securityContext"]["privileged"] is False


def test_cpu_target_may_exceed_the_request() -> None:
    docs = template({"autoscaling": {"enabled": True, "targetCPUUtilizationPercentage": 150}})
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 150
    check(hpa, NEWEST)


def test_service_port_may_equal_the_metrics_port() -> None:
    """They are on different Services, so neither gets a duplicate port."""
    docs = template({"service": {"port": 9090}, "metrics": {"port": 9090}})
    services: list[Doc] = find(docs, "Service")
    for service in services:
        ports = [p["port"] for p in service["spec"]["ports"]]
        assert len(ports) == len(set(ports)), service["metadata"]["name"]
        check(service, NEWEST)
    assert one(docs, "Service")["spec"]["ports"][0]["port"] == 9090


def test_tracing_values_render_as_the_otel_variables_the_server_takes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """tracing.* -> THREADLOCK_OTEL and the standard OTEL_* variables; off by default; the
    server turns them into a provider with that sampler and service name."""
    off = one(template({}), "ConfigMap")["data"]
    assert "THREADLOCK_OTEL" not in off and not [k for k in off if k.startswith("OTEL_")]
    env = one(template({"tracing": {"enabled": True, "endpoint": "http://collector.obs:4317",
                                    "samplerRatio": 0.1, "serviceName": "locks-eu"}}),
              "ConfigMap")["data"]
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector.obs:4317"
    assert (env["OTEL_TRACES_SAMPLER"], env["OTEL_TRACES_SAMPLER_ARG"]) == (
        "parentbased_traceidratio", "0.1")
    assert env["OTEL_SERVICE_NAME"] == "locks-eu"
    from threadlock import config as config_mod
    parser = argparse.ArgumentParser()
    config_mod.add_arguments(parser)
    assert config_mod.from_args(parser.parse_args([]), environ=env).otel is True
    for name, value in env.items():
        if name.startswith("OTEL_"):
            monkeypatch.setenv(name, value)
    tracing = from_config(True)
    assert tracing is not None
    try:
        assert "TraceIdRatioBased{0.1}" in tracing.provider.sampler.get_description()
        assert tracing.provider.resource.attributes["service.name"] == "locks-eu"
    finally:
        tracing.shutdown()
    default_name = one(template({"tracing": {"enabled": True, "endpoint": "http://c:4317"}}),
                       "ConfigMap")["data"]["OTEL_SERVICE_NAME"]
    assert default_name == one(template({}), "Deployment")["metadata"]["name"]


@pytest.mark.parametrize(("values", "error"), [
    ({"enabled": True}, "tracing.enabled needs tracing.endpoint"),
    ({"enabled": True, "endpoint": "collector:4317"}, "endpoint"),
    ({"samplerRatio": 1.5}, "samplerRatio"),
])
def test_tracing_values_are_checked(values: Doc, error: str) -> None:
    with pytest.raises(HelmError, match=error):
        template({"tracing": values})
