"""Node 22 for the tests of the TypeScript SDK's OpenAI guard, its NestJS example and the Node
stress workers: setup (scripts/setup-node.sh, npm only), the SDK built, commands whose failure
fails the test with their whole output."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SDK = ROOT / "clients" / "typescript"
NEST = SDK / "examples" / "nestjs"
NODE_BIN = ROOT / ".tools" / "node22" / "bin"


def run_node(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 300) -> str:
    """Run a command; fail the test with its whole output when it fails."""
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({proc.returncode}) in {cwd}:\n{output}",
                    pytrace=False)
    return output


def node_setup() -> dict[str, str]:
    """Node 22 first on PATH, the SDK's dependencies installed and the package built."""
    env = {**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ['PATH']}"}
    run_node(["bash", str(ROOT / "scripts" / "setup-node.sh")], env, ROOT, timeout=600)
    assert run_node(["node", "--version"], env, SDK).startswith("v22."), "not Node 22"
    run_node(["npm", "run", "build"], env, SDK)
    return env
