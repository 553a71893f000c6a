"""The slow builds that only the last tests need, started by scripts/test.sh in the background
while the other suites run (Kubernetes' control plane: ~15 min cold; the image: ~12 min cold),
and waited for here by those tests' fixtures.

scripts/test.sh writes, per build NAME, into .tools/background/:
    NAME.pid   the build's process (its own process group: test.sh kills it on exit)
    NAME.log   its output
    NAME.rc    its exit code, written when it ends

    proc = finish("k8s", [ROOT / "scripts/setup-k8s.sh"], timeout=3000)

`finish` waits for a running background build, then always runs the build's command itself:
the scripts are idempotent (a no-op of a second when the background run built everything), so
a run outside test.sh (plain pytest), a stale or failed background run, or a killed one still
ends with the build done here, or with its error. Never a skip.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / ".tools" / "background"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_background(name: str, timeout: float) -> str:
    """Wait for background build `name` to end; a one-line account of how it ended."""
    pid_file, rc_file = STATE / f"{name}.pid", STATE / f"{name}.rc"
    if not pid_file.exists():
        return f"no background {name} build (not started by scripts/test.sh)"
    pid = int(pid_file.read_text().split()[0])
    deadline = time.monotonic() + timeout
    while not rc_file.exists() and _alive(pid):
        if time.monotonic() >= deadline:
            raise TimeoutError(f"background {name} build (pid {pid}) still running after "
                               f"{timeout:.0f}s; its log: {STATE / (name + '.log')}")
        time.sleep(1)
    if rc_file.exists():
        return f"background {name} build exited with {rc_file.read_text().strip()}"
    return f"background {name} build (pid {pid}) ended without an exit code (killed?)"


def finish(name: str, cmd: Sequence[str | Path], *,
           timeout: float) -> subprocess.CompletedProcess[str]:
    """Wait for background build `name`, then run `cmd` (the same build, idempotent) and fail
    with both accounts unless it succeeds. Returns the finished process (its stdout: the
    script's answer, e.g. build-image.sh's archive path)."""
    started = time.monotonic()
    how = wait_background(name, timeout)
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False,
                          timeout=max(60.0, timeout - (time.monotonic() - started)))
    if proc.returncode != 0:
        log = STATE / f"{name}.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({how}):\n{proc.stderr[-3000:]}"
                           f"\n--- background log tail ---\n{tail}")
    return proc
