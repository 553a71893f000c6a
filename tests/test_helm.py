"""The Helm chart passes `helm lint --strict`, renders with every value set in
helm_chart.VALUE_SETS, and each rendered object validates against the Kubernetes API's JSON
schemas of the chart's oldest supported and the four newest Kubernetes versions that
kubernetes-validate ships; wrong values fail at render time with an error naming the value."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
from helm_chart import (
    CHART,
    NAMESPACE,
    RELEASE,
    VALUE_SETS,
    Doc,
    HelmError,
    find,
    helm,
    one,
    parse_manifests,
    render,
    template,
    values_args,
)
from k8s_schemas import CUSTOM, SchemaError, check, versions_to_check

VERSIONS = versions_to_check()


def test_versions_checked_cover_the_newest_and_the_chart_minimum() -> None:
    # kubernetes-validate 1.37.0 ships 1.25-1.37; the chart accepts >=1.25.
    assert VERSIONS[0] == "1.25"
    assert len(VERSIONS) == 5 and VERSIONS[-1] >= "1.37"


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_lint_strict(name: str, tmp_path: Path) -> None:
    out = helm("lint", "--strict", str(CHART), "--namespace", NAMESPACE,
               *values_args(tmp_path, VALUE_SETS[name]))
    assert "0 chart(s) failed" in out
    # --strict already fails on warnings; errors and warnings must not even be printed.
    assert "[WARNING]" not in out and "[ERROR]" not in out, out


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_rendered_objects_match_kubernetes_schemas(name: str, version: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    docs = render(name, f"{version}.0")
    assert docs, "nothing rendered"
    for doc in docs:
        check(doc, version)
    if version != VERSIONS[-1]:
        return
    with capsys.disabled():  # say once why the custom resource is checked differently
        for doc in docs:
            if (doc["apiVersion"], doc["kind"]) in CUSTOM:
                print(f"\n  note: {doc['kind']} is a custom resource: checked against the "
                      f"vendored schema {CUSTOM[doc['apiVersion'], doc['kind']].name}, "
                      f"not an API schema")


def test_each_value_set_renders_the_objects_it_asks_for() -> None:
    kinds = {name: sorted(d["kind"] for d in render(name)) for name in VALUE_SETS}
    always = {"ConfigMap", "Deployment", "Service", "ServiceAccount", "PodDisruptionBudget"}
    for name, got in kinds.items():
        assert always <= set(got), name
    assert "StatefulSet" in kinds["defaults"] and "StatefulSet" in kinds["bundled-etcd"]
    assert "StatefulSet" not in kinds["external-etcd"] and "StatefulSet" not in kinds["tls"]
    optional = {"ServiceMonitor", "NetworkPolicy", "HorizontalPodAutoscaler"}
    assert optional <= set(kinds["all-optional-on"])
    assert not optional & set(kinds["defaults"])
    # One etcd member has no quorum worth a disruption budget (it would block every drain).
    assert kinds["bundled-ephemeral"].count("PodDisruptionBudget") == 1
    assert kinds["defaults"].count("PodDisruptionBudget") == 2


def test_schema_check_rejects_broken_objects() -> None:
    """The validator is live: a misspelt field, a wrong type and an unknown kind all fail."""
    deployment = copy.deepcopy(one(render("defaults"), "Deployment"))
    deployment["spec"]["replica"] = 2
    with pytest.raises(SchemaError, match="replica"):
        check(deployment, VERSIONS[-1])
    service = copy.deepcopy(one(render("defaults"), "Service"))
    service["spec"]["ports"][0]["port"] = "grpc"
    with pytest.raises(SchemaError, match="ports"):
        check(service, VERSIONS[-1])
    with pytest.raises(SchemaError, match="Couldn't find schema"):
        check({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}},
              VERSIONS[-1])
    monitor = copy.deepcopy(one(render("all-optional-on"), "ServiceMonitor"))
    monitor["spec"]["endpoints"][0]["interval"] = "thirty seconds"
    with pytest.raises(SchemaError, match="interval"):
        check(monitor, VERSIONS[-1])


def test_duplicate_keys_in_a_manifest_are_an_error() -> None:
    # PyYAML alone would keep the last key; the API server rejects the object.
    with pytest.raises(Exception, match="duplicate key 'a'"):
        parse_manifests("kind: X\nmetadata:\n  a: 1\n  a: 2\n")


def test_kubernetes_older_than_the_chart_minimum_is_refused() -> None:
    with pytest.raises(HelmError, match=r"kubeVersion: >=1\.25"):
        template({}, "1.24.0")


# Each wrong value, the path helm's schema check (or the chart's own check) must name, and a
# fragment of the reason.
BAD_VALUES: list[tuple[Doc, str]] = [
    ({"replicaCount": "two"}, r"/replicaCount': got string, want integer"),
    ({"replicaCount": 0}, r"/replicaCount': minimum"),
    ({"replicas": 3}, r"additional properties 'replicas' not allowed"),
    ({"etcd": {"mode": "sqlite"}}, r"/etcd/mode': value must be one of"),
    ({"etcd": {"bundled": {"replicas": 2}}}, r"/etcd/bundled/replicas'"),
    ({"server": {"minTtl": -5}}, r"/server/minTtl': minimum: got -5, want 2"),
    ({"server": {"maxTtl": -1}}, r"/server/maxTtl': minimum"),
    ({"server": {"shutdownGrace": -1}}, r"/server/shutdownGrace': minimum"),
    ({"server": {"etcdTimeout": 0}}, r"/server/etcdTimeout'"),
    ({"server": {"keyPrefix": "locks"}}, r"/server/keyPrefix'"),
    ({"server": {"logLevel": "LOUD"}}, r"/server/logLevel': value must be one of"),
    ({"server": {"port": 70000}}, r"/server/port': maximum"),
    ({"image": {"pullPolicy": "Sometimes"}}, r"/image/pullPolicy'"),
    ({"metrics": {"serviceMonitor": {"interval": "soon"}}}, r"/metrics/serviceMonitor/interval'"),
    ({"metrics": {"interval": 0}}, r"/metrics/interval'"),
    ({"etcd": {"mode": "external", "external": {"endpoints": ["etcd a:2379"]}}},
     r"/etcd/external/endpoints/0'"),
    # Cross-field rules, checked by the templates (templates/_helpers.tpl).
    ({"etcd": {"mode": "external"}}, r"etcd\.external\.endpoints: give at least one"),
    ({"etcd": {"tls": {"enabled": True, "secretName": "s"}}},
     r"etcd\.tls\.enabled: TLS to etcd is for etcd\.mode \"external\""),
    ({"etcd": {"mode": "external", "external": {"endpoints": ["e:2379"]},
               "tls": {"enabled": True}}}, r"etcd\.tls\.secretName: required"),
    ({"tls": {"enabled": True}}, r"tls\.secretName: required"),
    ({"tls": {"clientCASecretName": "ca"}}, r"tls\.clientCASecretName: mutual TLS needs"),
    ({"server": {"minTtl": 60, "maxTtl": 30}}, r"server\.maxTtl: must be at least"),
    ({"server": {"healthPort": 50051}}, r"server\.healthPort: must differ"),
    ({"metrics": {"port": 50051}}, r"metrics\.port: must differ"),
    ({"terminationGracePeriodSeconds": 12}, r"terminationGracePeriodSeconds: must exceed .* = 20"),
    ({"server": {"shutdownGrace": 30}}, r"terminationGracePeriodSeconds: must exceed .* = 40"),
    ({"server": {"shutdownGrace": 20.5}, "terminationGracePeriodSeconds": 31},
     r"terminationGracePeriodSeconds: must exceed .* = 31, got 31"),
    ({"metrics": {"enabled": False, "serviceMonitor": {"enabled": True}}},
     r"metrics\.serviceMonitor\.enabled: needs metrics\.enabled"),
    ({"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 3}},
     r"autoscaling\.maxReplicas: must be at least"),
    ({"image": {"repository": ""}},
     r"image\.repository: required: .*--set image\.repository=registry\.example\.com"),
    ({"etcd": {"mode": "external", "external": {"endpoints": ["e1:2379", "https://e2:2379"]}}},
     r"etcd\.external\.endpoints: https://e2:2379 is https:// but etcd\.tls\.enabled is false"),
    ({"server": {"bindAddress": "localhost"}}, r"/server/bindAddress': value must be one of"),
    ({"podDisruptionBudget": {"unhealthyPodEvictionPolicy": "Never"}},
     r"/podDisruptionBudget/unhealthyPodEvictionPolicy': value must be one of"),
    # etcd's data-inconsistency range (3.5.0-3.5.2); 3.5.21 and 3.6.x pass (test_helm_etcd_run).
    ({"etcd": {"bundled": {"image": {"tag": "v3.5.2"}}}},
     r"etcd\.bundled\.image\.tag: v3\.5\.2 is in etcd 3\.5\.0-3\.5\.2, .*data-inconsistency"),
    ({"etcd": {"bundled": {"image": {"tag": "3.5.0"}}}}, r"etcd\.bundled\.image\.tag: 3\.5\.0 is"),
]


@pytest.mark.parametrize(("values", "message"), BAD_VALUES,
                         ids=[str(v) for v, _ in BAD_VALUES])
def test_wrong_values_fail_naming_the_value(values: Doc, message: str) -> None:
    with pytest.raises(HelmError, match=message):
        template(values)


def _render_notes(tmp_path: Path, values: Doc) -> str:
    """NOTES.txt as `helm install` would print it. Only install renders NOTES, and install
    needs a cluster; so a copy of the chart renders the same file with `tpl` into a
    ConfigMap, which `helm template` can show."""
    chart = tmp_path / "threadlock"
    shutil.copytree(CHART, chart)
    (chart / "notes").mkdir()
    (chart / "templates" / "NOTES.txt").rename(chart / "notes" / "NOTES.txt")
    (chart / "templates" / "zz-notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n"
        "data:\n  notes: {{ tpl (.Files.Get \"notes/NOTES.txt\") . | quote }}\n")
    out = helm("template", RELEASE, str(chart), "--namespace", NAMESPACE,
               *values_args(tmp_path, values), "--show-only", "templates/zz-notes.yaml")
    notes: str = find(parse_manifests(out), "ConfigMap")[0]["data"]["notes"]
    return notes


def test_notes_tell_how_to_reach_the_service_with_grpcurl(tmp_path: Path) -> None:
    notes = _render_notes(tmp_path, {})
    service = f"{RELEASE}-threadlock"
    assert f"port-forward service/{service} 50051:50051" in notes
    assert "grpcurl -plaintext localhost:50051 list" in notes
    assert "threadlock.v1.LockService/Status" in notes
    assert f"{service}.{NAMESPACE}.svc.cluster.local:50051" in notes
    assert "bundled etcd (3 members" in notes
    assert f"ClusterIP Service {service}-metrics" in notes

    tls = _render_notes(tmp_path / "tls", VALUE_SETS["tls"])
    assert "-plaintext" not in tls
    assert "grpcurl -cacert ca.crt -cert client.crt -key client.key localhost:50051 list" in tls
    assert "client certificate required" in tls
    assert "external etcd at https://etcd.db.svc:2379" in tls
