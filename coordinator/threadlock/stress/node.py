"""Node stress workers (`--lang node|mixed`): the command that starts one, and the check that it
can start at all. The worker is clients/typescript/stress/worker.mjs of this source tree, run by
Node 22 (scripts/setup-node.sh installs it into .tools/node22) against the built
@threadlock/client (`npm run build` in clients/typescript); it speaks the Python worker's line
protocol (stress/worker.py), with CLOCK_MONOTONIC times like Python's time.monotonic()."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]  # coordinator/threadlock/stress -> the repo
SDK = ROOT / "clients" / "typescript"
WORKER = SDK / "stress" / "worker.mjs"
NODE_ENV = "THREADLOCK_NODE"  # a Node 22 binary to use instead of .tools/node22 or PATH's


def node_binary() -> str | None:
    """$THREADLOCK_NODE, else the project's Node 22 (.tools/node22), else `node` on PATH."""
    for candidate in (os.environ.get(NODE_ENV), str(ROOT / ".tools" / "node22" / "bin" / "node")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("node")


def problem() -> str | None:
    """Why Node workers cannot start here, or None."""
    if not WORKER.is_file():
        return f"the Node worker {WORKER} is missing (a source tree of threadlock is needed)"
    if node_binary() is None:
        return "no Node 22 found: run ./scripts/setup-node.sh (or set $THREADLOCK_NODE)"
    if not (SDK / "dist" / "esm" / "openai" / "index.js").is_file():
        return "the TypeScript SDK is not built: run `npm run build` in clients/typescript"
    return None


def is_node(lang: str, slot: int) -> bool:
    """Whether worker slot `slot` runs Node: all for node, every other one for mixed (slots
    0, 2, ... Python; 1, 3, ... Node), so Python and Node share each conversation."""
    return lang == "node" or (lang == "mixed" and slot % 2 == 1)


def command(python_cmd: list[str]) -> list[str]:
    """The Node worker's command for the Python worker's `python -m threadlock.stress.worker
    ARGS` (same arguments; Node has one face, --face is accepted and ignored)."""
    node = node_binary()
    assert node is not None, "checked by problem() first"
    return [node, str(WORKER), *python_cmd[3:]]
