"""Entry point: ``python bench/run.py --help`` (see bench/main.py)."""

import sys
from pathlib import Path

# Run as a script, this file's directory is on sys.path, not the repository root that holds
# the `bench` package (and, in a source checkout, the coordinator and SDK).
ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "coordinator", ROOT / "clients" / "python"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
