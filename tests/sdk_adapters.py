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
    # The SDK speaks the coordinator's HTTP/JSON (Connect) face: the driver's init hands it
    # http(s)://host:port of each coordinator's HTTP port instead of its gRPC address.
    http: bool = False


ADAPTERS: list[Adapter] = [
    Adapter("python", argv=(sys.executable, "clients/python/conformance/adapter.py")),
    # Node 22 from npm (scripts/setup-node.sh), which also builds dist/ and the adapter.
    Adapter("typescript",
            argv=(str(ROOT / ".tools" / "node22" / "bin" / "node"),
                  "clients/typescript/.build/conformance/adapter.js"),
            build=("bash", "scripts/setup-node.sh", "--build")),
    # Built once per session from the committed module (scripts/setup-go.sh downloads its
    # modules); GOTOOLCHAIN=local: never fetch another Go toolchain.
    Adapter("go", argv=(str(ROOT / ".tools" / "bin" / "threadlock-conformance"),),
            build=("env", "GOTOOLCHAIN=local", "GOFLAGS=-mod=readonly", "go", "-C", "clients/go",
                   "build", "-o", str(ROOT / ".tools" / "bin" / "threadlock-conformance"),
                   "./cmd/threadlock-conformance")),
    # PHP over the HTTP/JSON face (scripts/setup-php.sh installs PHP from Debian).
    Adapter("php", argv=("php", "clients/php/conformance/adapter.php"), http=True),
]
