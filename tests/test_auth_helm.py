"""The chart's auth values: the auth file from a Secret, mounted so that updates reach the pod
(and the coordinator's reload), and the server-wide bounds."""

from __future__ import annotations

import re

import pytest
import yaml
from helm_chart import CHART, HelmError, find, one, template
from k8s_schemas import check, versions_to_check

from threadlock.auth.policy import parse


def test_auth_file_comes_from_the_secret() -> None:
    docs = template({"auth": {"enabled": True, "secretName": "threadlock-auth"}})
    data = one(docs, "ConfigMap")["data"]
    assert data["THREADLOCK_AUTH_FILE"] == "/etc/threadlock/auth/auth.yaml"
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "auth")
    assert volume["secret"]["secretName"] == "threadlock-auth"
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "auth")
    # No subPath: a subPath mount never sees the Secret's updates, so no reload would happen.
    assert mount == {"name": "auth", "mountPath": "/etc/threadlock/auth", "readOnly": True}


def test_auth_is_off_by_default_and_bounds_are_set() -> None:
    docs = template({})
    data = one(docs, "ConfigMap")["data"]
    assert "THREADLOCK_AUTH_FILE" not in data
    assert (data["THREADLOCK_MAX_MESSAGE_BYTES"], data["THREADLOCK_MAX_STREAMS"],
            data["THREADLOCK_MAX_WAITERS"]) == ("1048576", "1000", "10000")
    assert not any(v["name"] == "auth" for d in find(docs, "Deployment")
                   for v in d["spec"]["template"]["spec"]["volumes"])


def test_auth_without_a_secret_fails_to_render() -> None:
    with pytest.raises(HelmError, match=r"auth\.enabled needs auth\.secretName"):
        template({"auth": {"enabled": True}})


def _doc_block(name: str) -> str:
    doc = (CHART.parents[1] / "docs" / "deploy.md").read_text()
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", doc, re.DOTALL)
                if b.startswith(f"# {name}\n")]
    return str(block)


def test_deploy_doc_auth_file_is_valid() -> None:
    policy = parse(yaml.safe_load(_doc_block("auth.yaml")))
    assert policy.api_keys[0].tenant == "billing"
    issuer = policy.jwt[0]
    assert (issuer.audience, issuer.discovery, issuer.tenant_claim) == (
        "threadlock", True, "kubernetes.io.namespace")


def test_deploy_doc_client_pod_projects_a_threadlock_token() -> None:
    pod = yaml.safe_load(_doc_block("client-pod.yaml"))
    for version in versions_to_check():
        check(pod, version)
    (volume,) = pod["spec"]["volumes"]
    source = volume["projected"]["sources"][0]["serviceAccountToken"]
    assert source["audience"] == "threadlock"
    mount = pod["spec"]["containers"][0]["volumeMounts"][0]
    env = pod["spec"]["containers"][0]["env"][0]
    assert env["value"] == f"{mount['mountPath']}/{source['path']}"
