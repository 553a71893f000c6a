"""The chart and the coordinator agree: every variable the chart sets is one the server reads
(threadlock.config.ENV_VARS), the configuration it renders is one the server accepts, the
ports the probes, Service and ServiceMonitor use are the ones the server listens on, and the
pod's termination grace period outlasts the server's own shutdown."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml
from helm_chart import CHART, VALUE_SETS, Doc, container, one, render, template

from threadlock import config as config_mod
from threadlock.cli import build_parser
from threadlock.server import DRAIN_TIMEOUT, HEALTH_SERVICES, LIVENESS_SERVICE
from threadlock.tracing import OTEL_ENV_VARS

SECRET_KEYS = {"tls.crt", "tls.key", "ca.crt"}  # kubernetes.io/tls (+ cert-manager's ca.crt)

ALL = sorted(VALUE_SETS)


def _chart_env(docs: list[Doc]) -> dict[str, str]:
    """Every variable the coordinator container gets: the ConfigMap (envFrom) and env."""
    c = container(docs)
    (source,) = c["envFrom"]
    configmap = one(docs, "ConfigMap")
    assert source["configMapRef"]["name"] == configmap["metadata"]["name"]
    env = dict(configmap["data"])
    env.update({e["name"]: e["value"] for e in c.get("env", [])})
    return env


def _port_of(address: str) -> int:
    host, _, port = address.rpartition(":")
    assert host in ("0.0.0.0", "[::]"), f"{address}: must listen on all interfaces in a pod"
    return int(port)


def _ports(c: Doc) -> dict[str, int]:
    return {p["name"]: int(p["containerPort"]) for p in c["ports"]}


def _server_config(docs: list[Doc], tmp_path: Path) -> config_mod.Config:
    """The server's Config from the chart's variables, as `threadlock serve` builds it.
    Secret files are checked to be keys of a mounted Secret, then stood in for by empty files
    under tmp_path (the server checks at start-up that they exist)."""
    c = container(docs)
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    env = {}
    for name, value in _chart_env(docs).items():
        if value.startswith("/"):
            if name == "THREADLOCK_KEY_PREFIX":
                env[name] = value
                continue
            directory, _, key = value.rpartition("/")
            assert directory in mounts, f"{name}={value}: not under a mounted volume"
            assert mounts[directory] in secrets, f"{name}={value}: volume is not a Secret"
            assert key in SECRET_KEYS, f"{name}={value}: {key} is not a standard Secret key"
            stand_in = tmp_path / directory.lstrip("/") / key
            stand_in.parent.mkdir(parents=True, exist_ok=True)
            stand_in.touch()
            value = str(stand_in)
        env[name] = value
    args = build_parser().parse_args(c["args"])
    assert args.command == "serve"
    return config_mod.from_args(args, environ=env)


@pytest.mark.parametrize("name", ALL)
def test_chart_sets_only_variables_the_server_reads(name: str) -> None:
    env = _chart_env(render(name))
    server_vars = set(config_mod.ENV_VARS) - set(config_mod.CLIENT_ENV_VARS)
    server_vars |= set(OTEL_ENV_VARS)  # read by the OpenTelemetry SDK, with --otel
    unknown = set(env) - server_vars
    assert not unknown, f"the chart sets variables threadlock does not read: {sorted(unknown)}"
    # The container's default listen address is loopback: the chart must always override it.
    assert "THREADLOCK_LISTEN" in env


def test_extra_env_is_passed_through() -> None:
    docs = template({"server": {"extraEnv": [{"name": "THREADLOCK_ETCD_TIMEOUT",
                                              "value": "2.5"}]}})
    assert {"name": "THREADLOCK_ETCD_TIMEOUT", "value": "2.5"} in container(docs)["env"]


@pytest.mark.parametrize("name", ALL)
def test_server_accepts_the_chart_configuration(name: str, tmp_path: Path) -> None:
    docs = render(name)
    cfg = _server_config(docs, tmp_path)
    values = VALUE_SETS[name]
    c = container(docs)
    ports = _ports(c)
    # Every probe calls the server's plaintext health port.
    assert _port_of(cfg.listen) == ports["grpc"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["grpc"]["port"] == _port_of(cfg.health_listen) == ports["health"]
    assert ports["health"] != ports["grpc"]
    tls = values.get("tls", {})
    if tls.get("enabled"):
        assert cfg.tls is not None and cfg.tls.mutual == bool(tls.get("clientCASecretName"))
    else:
        assert cfg.tls is None
    assert cfg.backend == "etcd"
    assert cfg.min_ttl >= config_mod.ETCD_MIN_TTL
    etcd = values.get("etcd", {})
    if etcd.get("mode") == "external":
        assert cfg.etcd_endpoints == etcd["external"]["endpoints"]
    assert (cfg.etcd_tls is not None) == etcd.get("tls", {}).get("enabled", False)
    if cfg.etcd_tls is not None:
        assert cfg.etcd_tls.ca_file and cfg.etcd_tls.cert_file and cfg.etcd_tls.key_file


@pytest.mark.parametrize("name", ALL)
def test_metrics_port_matches_the_server_metrics_listener(name: str) -> None:
    docs = render(name)
    env = _chart_env(docs)
    if not VALUE_SETS[name].get("metrics", {}).get("enabled", True):
        assert "THREADLOCK_METRICS_LISTEN" not in env
        assert "THREADLOCK_METRICS_INTERVAL" not in env
        return
    assert float(env["THREADLOCK_METRICS_INTERVAL"]) > 0
    port = _port_of(env["THREADLOCK_METRICS_LISTEN"])
    assert port == _ports(container(docs))["metrics"]
    service_ports = {p["name"]: p for p in one(docs, "Service", "metrics")["spec"]["ports"]}
    assert service_ports["metrics"]["port"] == port


@pytest.mark.parametrize("name", ALL)
def test_probes_ask_for_health_services_the_server_registers(name: str) -> None:
    """Startup and liveness ask for the etcd-independent LIVENESS_SERVICE, readiness for an
    etcd-dependent name: a name the server does not register would answer NOT_FOUND, a
    failed probe, forever."""
    c = container(render(name))
    assert c["startupProbe"]["grpc"]["service"] == LIVENESS_SERVICE
    assert c["livenessProbe"]["grpc"]["service"] == LIVENESS_SERVICE
    assert c["readinessProbe"]["grpc"].get("service", "") in HEALTH_SERVICES
    assert LIVENESS_SERVICE not in HEALTH_SERVICES


def test_bind_address_reaches_every_listener(tmp_path: Path) -> None:
    """server.bindAddress "[::]" (IPv6, dual-stack) is an address the server accepts."""
    docs = template({"server": {"bindAddress": "[::]"}})
    cfg = _server_config(docs, tmp_path)
    for address in (cfg.listen, cfg.health_listen, cfg.metrics_listen):
        assert address.startswith("[::]:"), address
    assert _port_of(cfg.listen) == _ports(container(docs))["grpc"]


@pytest.mark.parametrize(("values", "name"), [({}, "defaults"),
                                              (VALUE_SETS["tls"], "tls"),
                                              ({"server": {"shutdownGrace": 20.5},
                                                "terminationGracePeriodSeconds": 32}, "tight"),
                                              ({"preStopDelaySeconds": 0}, "no-prestop")])
def test_termination_grace_outlasts_the_server_shutdown(values: Doc, name: str,
                                                        tmp_path: Path) -> None:
    """The kubelet waits preStop, sends SIGTERM; the server then gives in-flight calls
    shutdown_grace seconds and cleanups DRAIN_TIMEOUT more. SIGKILL must come after that."""
    docs = template(values)
    cfg = _server_config(docs, tmp_path)
    c = container(docs)
    pre_stop = 0
    if "lifecycle" in c:
        command = c["lifecycle"]["preStop"]["exec"]["command"]
        assert command[0] == "sleep"
        pre_stop = int(command[1])
    assert pre_stop == values.get("preStopDelaySeconds", 5)
    grace = one(docs, "Deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > pre_stop + cfg.shutdown_grace + DRAIN_TIMEOUT


def test_values_schema_matches_the_server_limits() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    server = schema["properties"]["server"]["properties"]
    assert server["minTtl"]["minimum"] == config_mod.ETCD_MIN_TTL
    assert server["maxTtl"]["maximum"] == config_mod.ETCD_MAX_TTL
    assert server["logLevel"]["enum"] == list(config_mod.LOG_LEVELS)
    assert server["logFormat"]["enum"] == list(config_mod.LOG_FORMATS)


def test_every_server_option_is_set_by_some_values() -> None:
    """A server option the chart never sets can only be reached through server.extraEnv: add a
    value for it (or, if it should stay hidden, say so here)."""
    options = set(config_mod.ENV_VARS) - set(config_mod.CLIENT_ENV_VARS)
    rendered = set(_chart_env(render("defaults"))) | set(_chart_env(render("tls")))
    rendered |= set(_chart_env(template({"http": {"enabled": True}})))  # off by default
    rendered |= set(_chart_env(template({"auth": {"enabled": True, "secretName": "a"}})))
    rendered |= set(_chart_env(render("all-optional-on")))  # tracing.enabled
    rendered |= set(_chart_env(template({"statusPage": {"enabled": True}})))  # off by default
    assert options <= rendered, sorted(options - rendered)


def test_chart_app_version_is_the_package_version() -> None:
    """The image tag defaults to appVersion: it must name the version the image is built from."""
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    project = tomllib.loads((CHART.parents[1] / "pyproject.toml").read_text())["project"]
    assert chart["appVersion"] == project["version"]
    assert container(render("defaults"))["image"].endswith(f":{project['version']}")
