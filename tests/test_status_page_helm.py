"""The chart's statusPage.enabled: off by default, THREADLOCK_STATUS_PAGE=true when on (which
the server reads as --status-page), refused without metrics or with auth (the page would be
on a plain-HTTP port of every pod address, and viewers send credentials). The "all-optional-on"
value set turns it on too, so the chart-wide checks (test_helm_ties: the server accepts the
rendered configuration; the Kubernetes schemas) cover it."""

from __future__ import annotations

import argparse

import pytest
from helm_chart import VALUE_SETS, Doc, HelmError, container, one, template

from threadlock import config as config_mod


def _env(values: Doc) -> dict[str, str]:
    docs = template(values)
    env = dict(one(docs, "ConfigMap")["data"])
    env.update({e["name"]: e["value"] for e in container(docs).get("env", [])})
    return env


def test_off_by_default() -> None:
    assert "THREADLOCK_STATUS_PAGE" not in _env({})


def test_enabled_reaches_the_server_as_its_option() -> None:
    env = _env({"statusPage": {"enabled": True}})
    assert env["THREADLOCK_STATUS_PAGE"] == "true"
    parser = argparse.ArgumentParser()
    config_mod.add_arguments(parser)
    keep = {k: v for k, v in env.items() if k in ("THREADLOCK_STATUS_PAGE",
                                                 "THREADLOCK_METRICS_LISTEN")}
    cfg = config_mod.from_args(parser.parse_args([]), keep)
    assert cfg.status_page and cfg.metrics_listen == env["THREADLOCK_METRICS_LISTEN"]
    assert VALUE_SETS["all-optional-on"]["statusPage"] == {"enabled": True}


@pytest.mark.parametrize(("values", "message"), [
    ({"statusPage": {"enabled": "yes"}}, r"/statusPage/enabled': got string, want boolean"),
    ({"statusPage": {"enable": True}}, r"additional properties 'enable' not allowed"),
    ({"statusPage": {"enabled": True}, "metrics": {"enabled": False}},
     r"statusPage\.enabled: needs metrics\.enabled: true"),
    ({"statusPage": {"enabled": True}, "auth": {"enabled": True, "secretName": "tl-auth"}},
     r"statusPage\.enabled: not with auth\.enabled: the metrics port has no TLS"),
])
def test_bad_values_are_refused_naming_the_value(values: Doc, message: str) -> None:
    with pytest.raises(HelmError, match=message):
        template(values)
