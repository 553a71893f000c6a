"""The image itself, built from the Dockerfile without Docker (scripts/build-image.sh: buildah
on a Debian base made by mmdebstrap), read as a container runtime reads it and run by one.

Its OCI config says what the chart expects (numeric non-root user, `threadlock serve` in exec
form, SIGTERM, the chart's ports), its virtualenv has no installers left, and the container,
run by runc from the image's own runtime bundle (umoci unpack) the way the chart runs the
pod (read-only root, a tmpfs /tmp, no capabilities, the chart's environment), serves the
probes, grants and reports a lock through a real etcd, refuses writes to its root, and stops
cleanly on SIGTERM. The Dockerfile's lint is tests/test_image.py (hadolint).

The first run builds the image (about 5 minutes when only the code changed, 12 cold);
later runs reuse the archive while the build inputs are unchanged."""

from __future__ import annotations

import json
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from background_builds import finish
from etcd_server import EtcdServer
from grpc_health.v1 import health_pb2, health_pb2_grpc
from harness import wait_serving
from helm_chart import CHART, ROOT, container, one, render
from test_helm_serve import _pod_env

from threadlock_client import LockClient

pytestmark = pytest.mark.etcd


@dataclass(frozen=True)
class Image:
    archive: Path
    layout: Path  # the archive unpacked: an OCI image layout
    ref: str
    config: dict[str, Any]  # the OCI image config's "config" object


def _blob(layout: Path, digest: str) -> Any:
    algo, _, hexa = digest.partition(":")
    return json.loads((layout / "blobs" / algo / hexa).read_text())


@pytest.fixture(scope="session")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    # scripts/test.sh builds the image in the background; plain pytest builds it here.
    proc = finish("image", [ROOT / "scripts" / "build-image.sh"], timeout=3600)
    archive = Path(proc.stdout.strip().splitlines()[-1])
    layout = tmp_path_factory.mktemp("oci")
    with tarfile.open(archive) as tar:
        tar.extractall(layout, filter="data")
    (entry,) = json.loads((layout / "index.json").read_text())["manifests"]
    manifest = _blob(layout, entry["digest"])
    config = _blob(layout, manifest["config"]["digest"])
    return Image(archive, layout, entry["annotations"]["org.opencontainers.image.ref.name"],
                 config["config"])


# The image fixture waits for scripts/test.sh's background build of the image.
@pytest.mark.timeout(3900)
def test_config_is_what_the_chart_runs(image: Image) -> None:
    cfg = image.config
    uid, _, gid = cfg["User"].partition(":")
    assert uid.isdigit() and gid.isdigit() and int(uid) > 0 and int(gid) > 0, cfg["User"]
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert (int(uid), int(gid)) == (values["podSecurityContext"]["runAsUser"],
                                    values["podSecurityContext"]["runAsGroup"])
    c = container(render("defaults"))
    assert "command" not in c  # so the kubelet runs the image's entrypoint ...
    assert cfg["Entrypoint"] == ["threadlock"] and cfg["Cmd"] == c["args"] == ["serve"]
    assert cfg["StopSignal"] == "SIGTERM"
    assert {int(p.split("/")[0]) for p in cfg["ExposedPorts"]} >= {
        p["containerPort"] for p in c["ports"]}
    assert "THREADLOCK_LISTEN=0.0.0.0:50051" in cfg["Env"]


@dataclass
class Bundle:
    path: Path
    state: Path  # runc's --root: its state stays in the test's directory
    name: str

    def runc(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["runc", "--root", str(self.state), *args], capture_output=True,
                              text=True, timeout=timeout, check=False)


@pytest.fixture
def bundle(image: Image, tmp_path: Path) -> Iterator[Bundle]:
    """The image's runtime bundle as umoci derives it from the image config (user, args,
    env, cwd), then set up as the chart's pod securityContext and volumes set up the pod."""
    path = tmp_path / "bundle"
    proc = subprocess.run(["umoci", "unpack", "--image", f"{image.layout}:{image.ref}",
                           str(path)], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    b = Bundle(path, tmp_path / "runc", f"threadlock-{uuid.uuid4().hex[:8]}")
    yield b
    b.runc("delete", "--force", b.name)


def _as_the_chart_runs_it(bundle: Path, env: dict[str, str]) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((bundle / "config.json").read_text())
    process = spec["process"]
    process["terminal"] = False
    # The chart: readOnlyRootFilesystem, capabilities drop ALL, an emptyDir on /tmp.
    spec["root"]["readonly"] = True
    process["capabilities"] = {k: [] for k in process["capabilities"]}
    spec["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                           "options": ["nosuid", "nodev", "mode=1777", "size=16m"]})
    # The pod's environment (the chart's ConfigMap, with its 0.0.0.0 addresses moved to
    # loopback ports) over the image's. The host's network namespace, so that the test reaches
    # those loopback ports; the other namespaces stay the container's own.
    image_env = dict(e.split("=", 1) for e in process["env"])
    process["env"] = [f"{k}={v}" for k, v in {**image_env, **env}.items()]
    ns = spec["linux"]["namespaces"]
    spec["linux"]["namespaces"] = [n for n in ns if n["type"] != "network"]
    (bundle / "config.json").write_text(json.dumps(spec))
    return spec


@pytest.mark.timeout(3900)
def test_container_serves_read_only_and_stops_on_sigterm(
        image: Image, bundle: Bundle, etcd: EtcdServer, key_prefix: str, tmp_path: Path) -> None:
    env, ports = _pod_env("defaults", etcd, key_prefix, tmp_path)
    env["THREADLOCK_SHUTDOWN_GRACE"] = "2"
    spec = _as_the_chart_runs_it(bundle.path, env)
    assert spec["process"]["user"] == {"uid": 10001, "gid": 10001}
    assert spec["process"]["args"] == ["threadlock", "serve"]
    log = tmp_path / "container.log"
    proc = subprocess.Popen(["runc", "--root", str(bundle.state), "run", "--bundle",
                             str(bundle.path), bundle.name], text=True,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        docs = render("defaults")
        c = container(docs)
        probe = f"127.0.0.1:{ports[c['readinessProbe']['grpc']['port']]}"
        wait_serving(probe, proc)
        with grpc.insecure_channel(probe) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            for name in ("startupProbe", "readinessProbe", "livenessProbe"):
                service = c[name]["grpc"].get("service", "")
                resp = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
                assert resp.status == health_pb2.HealthCheckResponse.SERVING, name
        api = f"127.0.0.1:{ports[50051]}"
        with LockClient(api, owner="image-test") as client, \
                client.hold("thread_image", ttl=10) as lease:
            (state,) = client.status("thread_image")
            assert state.holder.owner == "image-test"
            assert state.holder.fencing_token == lease.fencing_token > 0
        # The root really is read-only to the server's user; /tmp is writable.
        ro = bundle.runc("exec", bundle.name, "/bin/sh", "-c", "touch /opt/threadlock/x")
        assert ro.returncode != 0 and "Read-only file system" in ro.stderr + ro.stdout, ro
        rw = bundle.runc("exec", bundle.name, "/bin/sh", "-c", "touch /tmp/x && id -u")
        assert rw.returncode == 0 and rw.stdout.strip() == "10001", rw
        assert bundle.runc("exec", bundle.name, "/bin/sh", "-c",
                           "test ! -e /opt/threadlock/bin/pip").returncode == 0
        # What the kubelet does on a pod's deletion: SIGTERM, then SIGKILL after the grace.
        grace = one(docs, "Deployment")["spec"]["template"]["spec"][
            "terminationGracePeriodSeconds"]
        kill = bundle.runc("kill", bundle.name, "TERM")
        assert kill.returncode == 0, kill.stderr
        assert proc.wait(timeout=grace) == 0, log.read_text()
        assert "SIGTERM received" in log.read_text()
    finally:
        if proc.poll() is None:
            bundle.runc("kill", bundle.name, "KILL")
            proc.wait(timeout=30)
