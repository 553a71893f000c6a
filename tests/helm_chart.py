"""Render the Helm chart in helm/threadlock with the real `helm` CLI (built into .tools/bin by
scripts/setup.sh) and look objects up in the result.

    docs = render("tls", kube_version="1.37.0")
    deployment = one(docs, "Deployment")

Rendering is cached per (value set, Kubernetes version): the objects are shared, so tests must
not modify them. A missing helm binary fails the test with the command that installs it; a
failed `helm template` raises HelmError with helm's own message (which names the value).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "helm" / "threadlock"
HELM = Path(os.environ.get("THREADLOCK_HELM", ROOT / ".tools" / "bin" / "helm"))
RELEASE, NAMESPACE = "tl", "locks"

Doc = dict[str, Any]

# image.repository has no default (the chart refuses to guess a registry): every render here
# starts from this, as every real install sets it. A value set may still override it.
BASE_VALUES: Doc = {"image": {"repository": "registry.example.com/threadlock"}}

# The value sets every render and schema test runs with. "tls" covers both client TLS (mutual)
# and TLS to an external etcd, since both change the pod's volumes, env and probe port.
VALUE_SETS: dict[str, Doc] = {
    "defaults": {},
    "external-etcd": {"etcd": {"mode": "external", "external": {"endpoints": [
        "http://etcd-a.db:2379", "http://etcd-b.db:2379", "http://etcd-c.db:2379"]}}},
    "bundled-etcd": {"etcd": {"mode": "bundled", "bundled": {
        "replicas": 5, "persistence": {"storageClass": "fast", "size": "20Gi"},
        "antiAffinity": "hard"}}},
    "bundled-ephemeral": {"replicaCount": 1, "etcd": {"bundled": {
        "replicas": 1, "persistence": {"enabled": False}}}},
    "tls": {
        "tls": {"enabled": True, "secretName": "tl-server-tls",
                "clientCASecretName": "tl-client-ca"},
        "etcd": {"mode": "external",
                 "external": {"endpoints": ["https://etcd.db.svc:2379"]},
                 "tls": {"enabled": True, "secretName": "tl-etcd-client"}},
    },
    "metrics-off": {"metrics": {"enabled": False}},
    "all-optional-on": {
        "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}},
        "networkPolicy": {"enabled": True,
                          "clientFrom": [{"namespaceSelector": {"matchLabels": {
                              "kubernetes.io/metadata.name": "workers"}}}],
                          "metricsFrom": [{"podSelector": {"matchLabels": {
                              "app.kubernetes.io/name": "prometheus"}}}]},
        "autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 9},
        "tls": {"enabled": True, "secretName": "tl-server-tls"},
        "tracing": {"enabled": True, "endpoint": "http://otel-collector.observability:4317",
                    "samplerRatio": 0.25},
        "statusPage": {"enabled": True},
    },
}


class HelmError(Exception):
    """`helm` exited non-zero; the message is its stderr."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys: PyYAML keeps the last one silently,
    while the API server (strict decoding) and kubectl reject such a manifest."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                 _construct_mapping)


def parse_manifests(text: str) -> list[Doc]:
    """The non-empty YAML documents of `text` (duplicate keys are an error)."""
    return [d for d in yaml.load_all(text, Loader=_UniqueKeyLoader) if d]


def helm(*args: str) -> str:
    """Run helm and return its stdout; HelmError (stderr) when it fails."""
    assert HELM.is_file(), f"{HELM} not found: run ./scripts/setup.sh (it builds helm)"
    # Helm's own state (repositories, plugins, cache) under .tools/, not the user's home.
    state = ROOT / ".tools" / "helm-home"
    env = {**os.environ, "HELM_CACHE_HOME": str(state / "cache"),
           "HELM_CONFIG_HOME": str(state / "config"), "HELM_DATA_HOME": str(state / "data")}
    proc = subprocess.run([str(HELM), *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise HelmError(proc.stderr.strip() or proc.stdout.strip())
    return proc.stdout


def values_args(directory: Path, values: Doc) -> list[str]:
    """`--values` arguments for BASE_VALUES, then `values` (JSON files in `directory`, so types
    stay exact; later files win)."""
    args = []
    for name, doc in (("base.json", BASE_VALUES), ("values.json", values)):
        path = directory / name
        path.write_text(json.dumps(doc))
        args += ["--values", str(path)]
    return args


def template(values: Doc, kube_version: str | None = None, *extra: str,
             release: str = RELEASE) -> list[Doc]:
    """`helm template` with BASE_VALUES and `values`, as release `release`."""
    with tempfile.TemporaryDirectory(prefix="values-") as directory:
        cmd = ["template", release, str(CHART), "--namespace", NAMESPACE,
               *values_args(Path(directory), values), *extra]
        if kube_version is not None:
            cmd += ["--kube-version", kube_version]
        return parse_manifests(helm(*cmd))


@functools.cache
def _render_cached(name: str, kube_version: str | None) -> tuple[Doc, ...]:
    return tuple(template(VALUE_SETS[name], kube_version))


def render(name: str, kube_version: str | None = None) -> list[Doc]:
    """The objects rendered for value set `name` (cached; do not modify them)."""
    return list(_render_cached(name, kube_version))


def find(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d.get("kind") == kind]


def one(docs: list[Doc], kind: str, component: str = "coordinator") -> Doc:
    """The single object of `kind` for `component` (coordinator or etcd)."""
    found = [d for d in find(docs, kind)
             if d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component]
    assert len(found) == 1, f"expected one {kind} for {component}, found {len(found)}"
    return found[0]


def container(docs: list[Doc], kind: str = "Deployment", component: str = "coordinator") -> Doc:
    """The single container of the pod template of that workload."""
    containers: list[Doc] = one(docs, kind, component)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]
