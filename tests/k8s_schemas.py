"""Validate Kubernetes manifests offline against the API's JSON schemas.

The schemas come from the PyPI package kubernetes-validate, which ships them for Kubernetes
1.25-1.37 (strict variants refuse unknown fields, as `kubectl apply` with server-side field
validation does). kubeconform cannot use them: their `$ref`s point at an absolute
`/api/_definitions.json` that only kubernetes-validate's own resolver maps, and kubeconform's
default schema source (GitHub) is not reachable here.

    check(doc, "1.37")      # raises SchemaError naming the object, field path and problem

Custom resources have no schema there; those this chart renders (ServiceMonitor) are checked
against a minimal schema vendored in tests/schemas/ (see its $comment). Any other kind without
a schema is an error, never a silent pass.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
from helm_chart import CHART
from packaging.version import Version

SCHEMAS = Path(__file__).resolve().parent / "schemas"
# (apiVersion, kind) -> vendored schema file, for custom resources.
CUSTOM: dict[tuple[str, str], Path] = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): SCHEMAS / "servicemonitor-monitoring-v1.json",
}


class SchemaError(AssertionError):
    pass


def available_versions() -> list[str]:
    """major.minor of every Kubernetes version kubernetes-validate has schemas for, oldest
    first (its list holds each version twice: plain and strict)."""
    found = {".".join(v.split(".")[:2]) for v in kubernetes_validate.utils.all_versions()}
    return sorted(found, key=Version)


def chart_min_version() -> str:
    """The major.minor floor of the chart's kubeVersion constraint (">=1.25.0-0")."""
    text = (CHART / "Chart.yaml").read_text()
    match = re.search(r'^kubeVersion:\s*"?>=\s*(\d+\.\d+)', text, re.MULTILINE)
    assert match, "Chart.yaml: kubeVersion must be a '>=X.Y' constraint"
    return match.group(1)


def versions_to_check(latest: int = 4) -> list[str]:
    """The newest `latest` minor versions with schemas, plus the oldest the chart accepts."""
    versions = available_versions()
    floor = chart_min_version()
    assert floor in versions, f"no schemas for the chart's minimum Kubernetes {floor}"
    return sorted({floor, *versions[-latest:]}, key=Version)


@functools.cache
def _custom_validator(path: Path) -> jsonschema.protocols.Validator:
    schema = json.loads(path.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def _describe(doc: dict[str, Any]) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def check(doc: dict[str, Any], version: str) -> None:
    """Raise SchemaError unless `doc` is valid for Kubernetes `version` (major.minor)."""
    key = (str(doc.get("apiVersion")), str(doc.get("kind")))
    if key in CUSTOM:
        errors = sorted(_custom_validator(CUSTOM[key]).iter_errors(doc), key=str)
        if errors:
            err = errors[0]
            path = ".".join(str(p) for p in err.absolute_path)
            raise SchemaError(f"{_describe(doc)} (vendored schema): {path}: {err.message}")
        return
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as err:
        path = ".".join(str(p) for p in err.path)
        raise SchemaError(f"{_describe(doc)} on Kubernetes {version}: {path}: "
                          f"{err.message}") from None
    except kubernetes_validate.SchemaNotFoundError as err:
        raise SchemaError(f"{_describe(doc)}: {err.message}") from None
