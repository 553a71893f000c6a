"""Regenerate the checked-in Python code from protos/ (``--check`` fails if it is stale).

The generated modules are committed so that installing threadlock needs no protoc; CI runs
``--check`` so that they never drift from the .proto files. The public contract
(threadlock/v1/lock.proto) is also generated into the client SDK, flattened into
``threadlock_client/_proto`` with a relative import, so the SDK stands alone.
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
CLIENT = ROOT / "clients" / "python"
CLIENT_PROTO = "threadlock_client/_proto"
PUBLIC = "threadlock/v1/lock"


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


def generate_client(out: Path) -> list[Path]:
    """The public contract, for the SDK: same code, its one import made relative."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([
            sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTOS}", f"--python_out={tmp}",
            f"--pyi_out={tmp}", f"--grpc_python_out={tmp}", str(PROTOS / f"{PUBLIC}.proto"),
        ], check=True)
        (out / CLIENT_PROTO).mkdir(parents=True, exist_ok=True)
        made = []
        for src in sorted(Path(tmp).rglob("*_pb2*.py*")):
            text = src.read_text().replace("from threadlock.v1 import lock_pb2 as",
                                           "from . import lock_pb2 as")
            dst = Path(CLIENT_PROTO) / src.name
            (out / dst).write_text(text)
            made.append(dst)
        return made


def main() -> int:
    if "--check" not in sys.argv:
        generate(OUT)
        generate_client(CLIENT)
        return 0
    stale = []
    for make, out in ((generate, OUT), (generate_client, CLIENT)):
        with tempfile.TemporaryDirectory() as tmp:
            stale += [out / p for p in make(Path(tmp)) if not (out / p).exists()
                      or not filecmp.cmp(Path(tmp) / p, out / p, shallow=False)]
    for p in stale:
        print(f"stale generated file: {p.relative_to(ROOT)} (run: python scripts/gen_protos.py)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
