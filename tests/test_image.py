"""The container image's recipe: hadolint finds nothing in the Dockerfile; the final stage
runs as a numeric non-root user with no build tools and an exec-form entrypoint that is the
package's console script; .dockerignore keeps exactly what the build copies; and the package
built from that build context installs the entrypoint. The image itself is built (without
Docker) and run in tests/test_image_build.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser
from helm_chart import CHART, ROOT, container, render

from threadlock import config as config_mod
from threadlock.cli import build_parser

DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[dict[str, Any]]:
    parser = DockerfileParser(path=str(DOCKERFILE))
    return list(parser.structure)


def _stages() -> list[list[dict[str, Any]]]:
    stages: list[list[dict[str, Any]]] = []
    for ins in _instructions():
        if ins["instruction"] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(ins)
    return stages


def _final(instruction: str) -> list[str]:
    return [i["value"] for i in _stages()[-1] if i["instruction"] == instruction]


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint not found next to the venv's python: run ./scripts/setup.sh"
    proc = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_hadolint_is_live() -> None:
    """A Dockerfile with known faults (root user, unpinned apt, shell-form ENTRYPOINT) fails."""
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint
    bad = "FROM python\nRUN apt-get install -y gcc\nENTRYPOINT threadlock serve\n"
    proc = subprocess.run([hadolint, "--no-color", "-"], input=bad, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode != 0
    assert "DL3006" in proc.stdout and "DL3025" in proc.stdout, proc.stdout


def test_multi_stage_with_the_same_base() -> None:
    stages = _stages()
    assert len(stages) >= 2
    bases = [s[0]["value"].split()[0] for s in stages]
    # Same interpreter in both: the copied virtualenv links to the base image's python.
    assert bases[0] == bases[-1] == "${PYTHON_IMAGE}"
    arg = next(i["value"] for i in _instructions() if i["instruction"] == "ARG")
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11[-\w.]*-slim[-\w.]*", arg), arg


def _commands(stage: list[dict[str, Any]]) -> list[list[str]]:
    """The shell commands of a stage's RUN instructions, split at `&&`, as word lists."""
    return [part.split() for i in stage if i["instruction"] == "RUN"
            for part in i["value"].split("&&")]


def test_final_stage_has_no_build_tools() -> None:
    """What the Dockerfile says, read structurally: the final stage runs nothing and takes
    only the build stage's virtualenv, from which the build stage removed pip and setuptools
    after installing. (The base image's own Python keeps its pip: a distroless base would be
    needed to drop that; nothing in the image runs it.)"""
    stages = _stages()
    final = stages[-1]
    assert not _commands(final), "the final stage must run nothing"
    copies = _final("COPY")
    assert copies == ["--from=build /opt/threadlock /opt/threadlock"], copies
    commands = _commands(stages[0])
    installs = [n for n, words in enumerate(commands) if words[1:3] == ["install", "--no-compile"]
                and words[0] == "/opt/threadlock/bin/pip"]
    removals = [n for n, words in enumerate(commands)
                if words[:5] == ["/opt/threadlock/bin/python", "-m", "pip", "uninstall", "-y"]]
    assert len(installs) == 1 and len(removals) == 1, commands
    assert removals[0] > installs[0], "pip must go after the install that needs it"
    assert set(commands[removals[0]][5:]) == {"pip", "setuptools"}
    text = " ".join(i["value"] for i in final).lower()
    for tool in ("gcc", "build-essential", "apt-get", "pip", "python3-dev"):
        assert tool not in text


def test_runs_as_the_chart_numeric_non_root_user() -> None:
    (user,) = _final("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit() and int(gid) > 0
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["podSecurityContext"]["runAsUser"] == int(uid)
    assert values["podSecurityContext"]["runAsGroup"] == int(gid)


def test_entrypoint_is_the_console_script_in_exec_form() -> None:
    (entrypoint,) = _final("ENTRYPOINT")
    (cmd,) = _final("CMD")
    entry, args = json.loads(entrypoint), json.loads(cmd)  # JSON = exec form: PID 1 is ours
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entry == ["threadlock"] and "threadlock" in scripts
    assert build_parser().parse_args(args).command == "serve"
    # The chart runs the same command.
    assert container(render("defaults"))["args"] == args
    assert _final("STOPSIGNAL") == ["SIGTERM"]


def test_image_env_and_ports_match_the_server_and_chart() -> None:
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(_final("ENV"))))
    names = {k for k in env if k.startswith("THREADLOCK_")}
    assert names and names <= set(config_mod.ENV_VARS)
    assert env["THREADLOCK_LISTEN"] == "0.0.0.0:50051"
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    exposed = {int(p) for e in _final("EXPOSE") for p in e.split()}
    assert exposed == {values["server"]["port"], values["server"]["healthPort"],
                       values["metrics"]["port"], values["http"]["port"]}


def _ignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    """.dockerignore as (exclude?, regex) in order; Docker's syntax: `*` within a path
    segment, `**` across segments, `!` re-includes, the last matching rule wins."""
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        rules.append((exclude, re.compile(regex + "$")))
    return rules


def _excluded(path: str) -> bool:
    """Whether Docker leaves `path` out of the build context (a rule matching a parent
    directory applies to everything under it)."""
    parts = path.split("/")
    verdict = False
    for exclude, regex in _ignore_rules():
        if any(regex.match("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            verdict = exclude
    return verdict


def _context() -> list[Path]:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True, timeout=60).stdout.split()
    return [ROOT / p for p in tracked if not _excluded(p)]


def test_dockerignore_keeps_what_the_build_copies_and_nothing_else() -> None:
    context = {p.relative_to(ROOT).as_posix() for p in _context()}
    assert {"pyproject.toml", "README.md", "coordinator/threadlock/cli.py",
            "coordinator/threadlock/v1/lock_pb2.py"} <= context
    assert all(p.split("/")[0] in {"pyproject.toml", "README.md", "coordinator"}
               for p in context), sorted(context)
    for left_out in (".venv/bin/python", ".tools/bin/helm", ".git/HEAD", "tests/conftest.py",
                     "helm/threadlock/Chart.yaml", "coordinator/threadlock/__pycache__/x.pyc"):
        assert _excluded(left_out), left_out


@pytest.mark.timeout(300)
def test_build_context_installs_the_entrypoint(tmp_path: Path) -> None:
    """The Dockerfile's pip step, run on the build context (.dockerignore applied): the
    wheel it installs declares the `threadlock` script and carries the generated code."""
    context = tmp_path / "context"
    for src in _context():
        dest = context / src.relative_to(ROOT)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
    # --no-build-isolation: offline, with the dev extra's setuptools.
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "-w", str(tmp_path / "dist"), str(context)],
                          capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("threadlock-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        text = zf.read(entry_points).decode()
    assert re.search(r"^\[console_scripts\]\s*\nthreadlock = threadlock\.cli:main$", text,
                     re.MULTILINE), text
    assert {"threadlock/cli.py", "threadlock/server.py", "threadlock/v1/lock_pb2.py",
            "threadlock/py.typed"} <= names
    # The status page's files are package data: the coordinator serves them itself.
    assert {f"threadlock/status_assets/{n}" for n in ("index.html", "status.js",
                                                      "status.css")} <= names
