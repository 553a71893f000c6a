"""The bundled etcd's rendered command line runs: three real etcd processes of the release the
chart's image tag names (threadlock.etcd.versions.CURRENT, what setup.sh builds), started with
the StatefulSet's exact arguments (cluster DNS names and ports mapped to loopback ports, the
data directory to a temporary one), form a cluster and answer the readiness probe's /health;
docs/deploy.md's etcdctl maintenance commands then run against them.

This catches what schemas cannot: a misspelt etcd flag, a member name that is not in
--initial-cluster, a bad compaction or quota value, a probe path etcd does not serve."""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from etcd_server import find_etcd, free_port
from helm_chart import NAMESPACE, container, one, render

from threadlock.etcd import versions

pytestmark = pytest.mark.etcd


def _run_doc_etcdctl(etcd: str, client_ports: list[int], env: dict[str, str]) -> None:
    """docs/deploy.md's maintenance commands (`kubectl exec <member> -- etcdctl ...`), with the
    etcdctl built beside `etcd`, against those members: they must exist in this release."""
    etcdctl = str(Path(etcd).with_name("etcdctl"))
    doc = (Path(__file__).resolve().parent.parent / "docs" / "deploy.md").read_text()
    found = re.findall(r"exec \S+-etcd-(\$i|\d+) -- (etcdctl .*)$", doc, re.MULTILINE)
    assert len(found) >= 3, found
    for member, command in found:
        for i in (range(len(client_ports)) if member == "$i" else [int(member)]):
            run = subprocess.run(
                [etcdctl, *shlex.split(command)[1:]], capture_output=True, text=True,
                timeout=90, env={**env, "ETCDCTL_ENDPOINTS": f"127.0.0.1:{client_ports[i]}"})
            assert run.returncode == 0, f"{command} on member {i}: {run.stderr}"


def _health(port: int) -> dict[str, str] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
            body: dict[str, str] = json.loads(resp.read())
            return body
    except (OSError, urllib.error.URLError, ValueError):
        return None


@pytest.mark.timeout(180)
def test_rendered_etcd_members_form_a_cluster(tmp_path: Path) -> None:
    docs = render("defaults")
    sts = one(docs, "StatefulSet", "etcd")
    c = container(docs, "StatefulSet", "etcd")
    members = int(sts["spec"]["replicas"])
    name = sts["metadata"]["name"]
    domain = f"{sts['spec']['serviceName']}.{NAMESPACE}.svc.cluster.local"
    readiness = c["readinessProbe"]["httpGet"]
    container_ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert readiness["path"] == "/health"

    ports = [{"client": free_port(), "peer": free_port(), "metrics": free_port()}
             for _ in range(members)]
    binary, version = find_etcd()
    # The flags are checked against the very release the chart deploys (some 3.5 flags are
    # gone in 3.6): the image tag and the binary must agree.
    assert c["image"].endswith(f"/etcd:v{versions.show(versions.CURRENT)}"), c["image"]
    assert version == versions.CURRENT, (binary, version)
    deploy_doc = (Path(__file__).resolve().parent.parent / "docs" / "deploy.md").read_text()
    assert f"`{c['image']}`" in deploy_doc, "docs/deploy.md names another bundled etcd image"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
    arch = {"aarch64": "arm64", "x86_64": "amd64"}.get(platform.machine(), platform.machine())
    if arch != "amd64":
        env["ETCD_UNSUPPORTED_ARCH"] = arch

    def localize(arg: str, i: int) -> str:
        arg = arg.replace("$(POD_NAME)", f"{name}-{i}")
        for j in range(members):
            host = f"{name}-{j}.{domain}"
            arg = arg.replace(f"{host}:2380", f"127.0.0.1:{ports[j]['peer']}")
            arg = arg.replace(f"{host}:2379", f"127.0.0.1:{ports[j]['client']}")
        for kind in ("client", "peer", "metrics"):
            arg = arg.replace(f"0.0.0.0:{container_ports[kind]}", f"127.0.0.1:{ports[i][kind]}")
        return arg.replace("=/var/lib/etcd/", f"={tmp_path}/member-{i}/")

    procs: list[subprocess.Popen[bytes]] = []
    logs = [tmp_path / f"etcd-{i}.log" for i in range(members)]
    try:
        for i in range(members):
            args = [localize(a, i) for a in c["args"]]
            assert not [a for a in args if "svc.cluster.local" in a or "0.0.0.0" in a], args
            with logs[i].open("wb") as log:
                procs.append(subprocess.Popen([binary, *args], stdin=subprocess.DEVNULL,
                                              stdout=log, stderr=subprocess.STDOUT, env=env))
        deadline = time.monotonic() + 120  # generous: a shared, slow machine
        healthy: set[int] = set()
        while len(healthy) < members:
            for i, proc in enumerate(procs):
                assert proc.poll() is None, f"etcd {i} exited:\n{logs[i].read_text()[-3000:]}"
                if (_health(ports[i]["metrics"]) or {}).get("health") == "true":
                    healthy.add(i)
            if time.monotonic() > deadline:
                raise AssertionError(f"members {sorted(set(range(members)) - healthy)} not "
                                     f"healthy:\n{logs[0].read_text()[-3000:]}")
            time.sleep(0.2)
        _run_doc_etcdctl(binary, [p["client"] for p in ports], env)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)
