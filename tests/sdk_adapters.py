"""The SDKs the cross-SDK conformance suite (tests/test_sdk_conformance.py) runs against: one
`Adapter` entry per SDK, naming the program that speaks tests/conformance/PROTOCOL.md.

To add an SDK, append one entry to ADAPTERS, e.g.

    Adapter("typescript", argv=("node", "clients/typescript/conformance/adapter.mjs"),
            build=("npm", "--prefix", "clients/typescript", "run", "build")),

`argv` starts one adapter process (relative paths are from the repository root, which is
also its working directory); `build`, if set, runs once per pytest session before the first
adapter of that SDK starts (it must be idempotent and must install nothing from outside the
package registries; a failing build fails that SDK's tests with its output).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Adapter:
    name: str
    argv: tuple[str, ...]
    build: tuple[str, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)  # added to the adapter's environment
    build_timeout: float = 900.0


ADAPTERS: list[Adapter] = [
    Adapter("python", argv=(sys.executable, "clients/python/conformance/adapter.py")),
    # Node 22 from npm (scripts/setup-node.sh), which also builds dist/ and the adapter.
    Adapter("typescript",
            argv=(str(ROOT / ".tools" / "node22" / "bin" / "node"),
                  "clients/typescript/.build/conformance/adapter.js"),
            build=("bash", "scripts/setup-node.sh", "--build")),
]
