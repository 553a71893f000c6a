"""Every name the chart generates fits Kubernetes' limits, even for the longest release name
Helm allows (53 characters) and the longest overrides the schema allows. Too long a name
renders fine but fails in the cluster: the API server refuses a Service name over 63
characters, and a StatefulSet name over 52 makes its pods' controller-revision-hash label
(<name>-<10-character hash>) exceed 63, so the controller cannot create them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from helm_chart import HelmError, container, find, one, template

# Helm refuses release names longer than this.
LONGEST_RELEASE = "release-with-a-name-as-long-as-helm-allows-it-0123456"
DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
DNS_1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
REVISION_HASH = 10  # characters of the hash in controller-revision-hash, after "<name>-"

# The longest names each knob allows, all together with the bundled etcd on and every
# optional object rendered.
CASES: dict[str, dict[str, Any]] = {
    "long release": {},
    "long nameOverride": {"nameOverride": "n" * 57},
    "long fullnameOverride": {"fullnameOverride": "f" * 47},
}
OPTIONAL_ON = {"metrics": {"serviceMonitor": {"enabled": True}},
               "networkPolicy": {"enabled": True}, "autoscaling": {"enabled": True}}


def test_release_name_is_the_longest_helm_allows() -> None:
    assert len(LONGEST_RELEASE) == 53
    with pytest.raises(HelmError, match="name"):
        template({}, None, release=LONGEST_RELEASE + "7")


def _labels(doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, value) of every label value and label selector value in `doc`."""
    def walk(node: Any, path: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("labels", "matchLabels", "selector") and isinstance(value, dict):
                    for k, v in value.items():
                        if isinstance(v, str):
                            yield f"{path}.{key}.{k}", v
                yield from walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                yield from walk(item, f"{path}[{i}]")
    yield from walk(doc, f"{doc['kind']}/{doc['metadata']['name']}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_generated_name_fits_kubernetes_limits(case: str) -> None:
    docs = template({**OPTIONAL_ON, **CASES[case]}, None, release=LONGEST_RELEASE)
    assert {"StatefulSet", "ServiceMonitor", "NetworkPolicy",
            "HorizontalPodAutoscaler"} <= {d["kind"] for d in docs}
    names: dict[str, set[str]] = {}
    for doc in docs:
        name = doc["metadata"]["name"]
        assert len(name) <= 253 and DNS_1123_SUBDOMAIN.fullmatch(name), name
        assert name not in names.setdefault(doc["kind"], set()), f"two {doc['kind']}s {name}"
        names[doc["kind"]].add(name)
        if doc["kind"] == "Service":
            assert len(name) <= 63 and DNS_1035.fullmatch(name), f"Service {name}"
        for where, value in _labels(doc):
            assert len(value) <= 63 and LABEL_VALUE.fullmatch(value), f"{where}={value}"

    sts = one(docs, "StatefulSet", "etcd")
    name = sts["metadata"]["name"]
    assert len(name) + 1 + REVISION_HASH <= 63, f"StatefulSet {name}: {len(name)} > 52"
    # Each member's pod name is a DNS label in its own address (and its hostname).
    for i in range(sts["spec"]["replicas"]):
        assert DNS_1035.fullmatch(f"{name}-{i}") and len(f"{name}-{i}") <= 63
    endpoints = one(docs, "ConfigMap")["data"]["THREADLOCK_ETCD_ENDPOINTS"].split(",")
    for endpoint in endpoints:
        host = endpoint.removeprefix("http://").rpartition(":")[0]
        assert all(0 < len(part) <= 63 for part in host.split(".")), host
    # The coordinator's pods belong to the Deployment's and the ServiceAccount's names.
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] in names["ServiceAccount"]
    assert container(docs)["envFrom"][0]["configMapRef"]["name"] in names["ConfigMap"]
    assert len(find(docs, "Service")) == 4  # client, metrics, etcd peer, etcd client


def test_fullname_override_longer_than_47_is_refused_by_name() -> None:
    with pytest.raises(HelmError, match=r"/fullnameOverride'.*maxLength"):
        template({"fullnameOverride": "f" * 48})
