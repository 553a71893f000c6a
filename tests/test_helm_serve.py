"""The pod, run as a process: the image's entrypoint (`threadlock`, the console script) with
the chart's args and the chart's rendered environment, against a real etcd. Addresses the
chart binds on all interfaces are moved to free loopback ports (the machine is shared); the
etcd endpoints point at the test etcd; secret files are real test certificates.

Then the kubelet's view: each gRPC probe (grpc.health.v1 Check, with the probe's own service
name) on the probe port, the plaintext health port, answers SERVING, also with client TLS on
the API port (the "tls" case); and SIGTERM ends the process cleanly well within the pod's
grace period."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import grpc
import pytest
from certs import make_pki
from etcd_server import EtcdServer, free_port
from grpc_health.v1 import health_pb2, health_pb2_grpc
from harness import wait_serving
from helm_chart import ROOT, VALUE_SETS, container, one, render

pytestmark = pytest.mark.etcd

DEPLOY_DOC = ROOT / "docs" / "deploy.md"


def _pod_env(name: str, etcd: EtcdServer, key_prefix: str, tmp_path: Path
             ) -> tuple[dict[str, str], dict[int, int]]:
    """The chart's variables made runnable here, and {chart port: local port}."""
    docs = render(name)
    env: dict[str, str] = dict(one(docs, "ConfigMap")["data"])
    ports: dict[int, int] = {}
    pki = None
    for var, value in list(env.items()):
        if value.startswith("0.0.0.0:"):
            port = int(value.rpartition(":")[2])
            ports[port] = free_port()
            env[var] = f"127.0.0.1:{ports[port]}"
        elif value.startswith("/etc/threadlock/"):
            pki = pki or make_pki(tmp_path / "pki")
            # ca.crt: the server's own CA serves as the client CA and etcd's CA alike.
            files = {"tls.crt": pki.server.cert, "tls.key": pki.server.key, "ca.crt": pki.server.ca}
            env[var] = str(files[value.rpartition("/")[2]])
    env["THREADLOCK_ETCD_ENDPOINTS"] = etcd.endpoint
    env["THREADLOCK_KEY_PREFIX"] = key_prefix
    if VALUE_SETS[name].get("etcd", {}).get("tls", {}).get("enabled"):
        # The test etcd is plaintext; TLS to etcd is covered by test_etcd_tls.
        for var in ("THREADLOCK_ETCD_CA", "THREADLOCK_ETCD_CERT", "THREADLOCK_ETCD_KEY"):
            env.pop(var)
    return env, ports


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["defaults", "metrics-off", "tls"])
def test_pod_serves_probes_and_stops_on_sigterm(name: str, etcd: EtcdServer, key_prefix: str,
                                                 tmp_path: Path) -> None:
    docs = render(name)
    c = container(docs)
    env, ports = _pod_env(name, etcd, key_prefix, tmp_path)
    entrypoint = shutil.which("threadlock", path=str(Path(sys.executable).parent))
    assert entrypoint, "the console script is missing: pip install -e . (scripts/setup.sh)"
    log = tmp_path / "serve.log"
    proc = subprocess.Popen([entrypoint, *c["args"]], env={**os.environ, **env}, text=True,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        probe_port = ports[c["readinessProbe"]["grpc"]["port"]]
        wait_serving(f"127.0.0.1:{probe_port}", proc)  # plaintext, as the kubelet calls it
        with grpc.insecure_channel(f"127.0.0.1:{probe_port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert ports[c[probe]["grpc"]["port"]] == probe_port
                service = c[probe]["grpc"].get("service", "")
                resp = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
                assert resp.status == health_pb2.HealthCheckResponse.SERVING, (probe, service)
        if "THREADLOCK_METRICS_LISTEN" in env:
            (metrics,) = [p["containerPort"] for p in c["ports"] if p["name"] == "metrics"]
            _check_metrics(ports[metrics])
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
        proc.send_signal(signal.SIGTERM)
        # Exit 0 before the kubelet's SIGKILL would come.
        assert proc.wait(timeout=pod["terminationGracePeriodSeconds"]) == 0, log.read_text()
        assert "SIGTERM received" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def _check_metrics(port: int) -> None:
    """Every metric docs/deploy.md describes is served at /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    documented = set(re.findall(r"^\| `(threadlock_\w+?)(?:_total)?[{`]", DEPLOY_DOC.read_text(),
                                re.MULTILINE))
    assert len(documented) >= 9
    # The text format names a counter's family with or without _total, by version.
    served = {name.removesuffix("_total")
              for name in re.findall(r"^# TYPE (threadlock_\w+) ", text, re.MULTILINE)}
    assert documented <= served, sorted(documented - served)
