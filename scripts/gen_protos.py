"""Regenerate the checked-in Python code from protos/ (``--check`` fails if it is stale).

The generated modules are committed so that installing threadlock needs no protoc; CI runs
``--check`` so that they never drift from the .proto files.
"""

from __future__ import annotations

import filecmp
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
OUT = ROOT / "coordinator"


def generate(out: Path) -> list[Path]:
    files = sorted(PROTOS.rglob("*.proto"))
    cmd = [
        sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTOS}",
        f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}",
        *map(str, files),
    ]
    subprocess.run(cmd, check=True)
    for proto in files:  # protoc writes an empty *_pb2_grpc.py for files without services
        if "\nservice " not in proto.read_text():
            rel = proto.relative_to(PROTOS).with_suffix("")
            (out / f"{rel}_pb2_grpc.py").unlink(missing_ok=True)
    made = sorted(p.relative_to(out) for p in out.rglob("*_pb2*.py*"))
    return made


def main() -> int:
    if "--check" not in sys.argv:
        generate(OUT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        stale = [p for p in generate(Path(tmp)) if not (OUT / p).exists()
                 or not filecmp.cmp(Path(tmp) / p, OUT / p, shallow=False)]
    for p in stale:
        print(f"stale generated file: coordinator/{p} (run: python scripts/gen_protos.py)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
