"""The chart's HTTP (Connect protocol) port: `http.enabled` sets THREADLOCK_HTTP_LISTEN, adds
the container port, a port on the client Service and on the NetworkPolicy's client rule;
the server accepts the result; probes stay on the gRPC health port; wrong values fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from helm_chart import (
    CHART,
    NAMESPACE,
    VALUE_SETS,
    Doc,
    HelmError,
    container,
    find,
    helm,
    one,
    template,
    values_args,
)
from k8s_schemas import check, versions_to_check
from test_helm_ties import _chart_env, _port_of, _server_config

ON: Doc = {"http": {"enabled": True}}
ON_TLS: Doc = {**VALUE_SETS["tls"], "http": {"enabled": True, "port": 8443},
               "service": {"httpPort": 443}}
ON_POLICY: Doc = {**VALUE_SETS["all-optional-on"], **ON}


def _ports(c: Doc) -> dict[str, int]:
    return {p["name"]: int(p["containerPort"]) for p in c["ports"]}


def test_off_by_default() -> None:
    docs = template({})
    assert "THREADLOCK_HTTP_LISTEN" not in _chart_env(docs)
    assert "http" not in _ports(container(docs))
    assert [p["name"] for p in one(docs, "Service")["spec"]["ports"]] == ["grpc"]


@pytest.mark.parametrize(("values", "scheme"), [(ON, "http"), (ON_TLS, "https")])
def test_enabled_port_reaches_server_container_and_service(values: Doc, scheme: str,
                                                           tmp_path: Path) -> None:
    docs = template(values)
    cfg = _server_config(docs, tmp_path)  # the server accepts the rendered configuration
    c = container(docs)
    port = values["http"].get("port", 8080)
    assert _port_of(cfg.http_listen) == _ports(c)["http"] == port
    assert (cfg.tls is not None) == (scheme == "https")  # same TLS as the gRPC port
    by_name = {p["name"]: p for p in one(docs, "Service")["spec"]["ports"]}
    assert set(by_name) == {"grpc", "http"}
    http = by_name["http"]
    assert http["targetPort"] == "http"
    assert http["port"] == values.get("service", {}).get("httpPort", 8080)
    assert http["appProtocol"] == scheme
    # Probes stay on the plaintext gRPC health port.
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["grpc"]["port"] == _ports(c)["health"]


def test_network_policy_lets_clients_reach_http_like_grpc() -> None:
    docs = template(ON_POLICY)
    policy = next(p for p in find(docs, "NetworkPolicy")
                  if p["metadata"]["labels"]["app.kubernetes.io/component"] == "coordinator")
    client_rule = next(r for r in policy["spec"]["ingress"]
                       if {"port": "grpc", "protocol": "TCP"} in r["ports"])
    assert {"port": "http", "protocol": "TCP"} in client_rule["ports"]
    assert client_rule["from"] == ON_POLICY["networkPolicy"]["clientFrom"]


@pytest.mark.parametrize("values", [ON, ON_TLS, ON_POLICY], ids=["on", "tls", "policy"])
def test_rendered_objects_match_kubernetes_schemas(values: Doc) -> None:
    for version in versions_to_check():
        for doc in template(values, f"{version}.0"):
            check(doc, version)


def test_lint_strict_with_http_on(tmp_path: Path) -> None:
    out = helm("lint", "--strict", str(CHART), "--namespace", NAMESPACE,
               *values_args(tmp_path, ON_TLS))
    assert "0 chart(s) failed" in out
    assert "[WARNING]" not in out and "[ERROR]" not in out, out


def test_notes_show_a_curl_call(tmp_path: Path) -> None:
    from test_helm import _render_notes

    notes = _render_notes(tmp_path, ON_TLS)
    assert ("curl --cacert ca.crt --cert client.crt --key client.key -H 'Content-Type: "
            "application/json' -d '{\"prefix\": \"\"}' https://localhost:443/"
            "threadlock.v1.LockService/Status") in notes
    assert "HTTP API" not in _render_notes(tmp_path / "off", {})


@pytest.mark.parametrize(("values", "message"), [
    ({"http": {"enabled": "yes"}}, r"/http/enabled': got string, want boolean"),
    ({"http": {"port": 0}}, r"/http/port': minimum"),
    ({"http": {"enabled": True, "tls": True}}, r"additional properties 'tls' not allowed"),
    ({"service": {"httpPort": 70000}}, r"/service/httpPort': maximum"),
    ({"http": {"enabled": True, "port": 50051}}, r"http\.port: must differ from server\.port"),
    ({"http": {"enabled": True, "port": 9090}}, r"http\.port: must differ from metrics\.port"),
    ({"http": {"enabled": True}, "service": {"httpPort": 50051}},
     r"service\.httpPort: must differ from service\.port"),
])
def test_wrong_values_fail_naming_the_value(values: Doc, message: str) -> None:
    with pytest.raises(HelmError, match=message):
        template(values)
