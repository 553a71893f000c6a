"""docs/deploy.md works as written: each `helm install`/`helm upgrade` command in it, and each
values file it shows, renders with the chart (values.schema.json and the chart's own checks
accept them) into objects that pass the Kubernetes schemas."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from helm_chart import CHART, NAMESPACE, RELEASE, helm, parse_manifests
from k8s_schemas import check, versions_to_check

DOC = CHART.parents[1] / "docs" / "deploy.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), re.DOTALL)


def _helm_commands() -> list[list[str]]:
    commands = []
    for block in _blocks("sh"):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line.startswith("helm install") or line.startswith("helm upgrade"):
                commands.append(shlex.split(line))
    return commands


COMMANDS = _helm_commands()


def _check_all(out: str) -> None:
    docs = parse_manifests(out)
    assert docs
    for doc in docs:
        check(doc, versions_to_check()[-1])


def test_doc_has_the_commands_a_reader_needs() -> None:
    # install (bundled), install -f (external), TLS, auth, image upgrade, autoscaling.
    assert len(COMMANDS) == 6, COMMANDS
    assert sum(c[1] == "install" for c in COMMANDS) == 2


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c[:2] + c[4:6]) for c in COMMANDS])
def test_doc_helm_commands_render(command: list[str], tmp_path: Path) -> None:
    sets = [command[i + 1] for i, arg in enumerate(command) if arg == "--set"]
    files = [command[i + 1] for i, arg in enumerate(command) if arg == "-f"]
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    if "--reuse-values" in command:
        # The release's earlier values, as the install commands before it set them.
        args += ["--set", "image.repository=registry.example.com/threadlock"]
    for value in sets:
        args += ["--set", value]
    for name in files:
        (block,) = [b for b in _blocks("yaml") if b.startswith(f"# {name}\n")]
        path = tmp_path / name
        path.write_text(block)
        args += ["--values", str(path)]
    _check_all(helm(*args))


def test_doc_values_files_are_valid_yaml_for_the_chart() -> None:
    blocks = [b for b in _blocks("yaml") if b.startswith("# values")]
    assert blocks
    for block in blocks:
        values = yaml.safe_load(block)
        assert values["etcd"]["mode"] == "external"
