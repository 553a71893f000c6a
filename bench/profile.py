"""Where the coordinator's time goes: py-spy samples the coordinator process (by pid, from
outside, --nonblocking so that it is not paused) during one measured load point.

Two recordings of the same window: a flamegraph SVG for people, and py-spy's "raw" collapsed
stacks, summarised here into the functions with the most samples: "self" (the innermost
frame: where the CPU actually was) and "total" (anywhere on the stack: what it was doing it
for). Percentages are of the samples in which the coordinator's Python threads were active
(py-spy drops idle samples, e.g. the event loop waiting in epoll).
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
from pathlib import Path

TOP = 25


def py_spy() -> str | None:
    return shutil.which("py-spy") or next(
        (str(p) for p in [Path(sys.executable).parent / "py-spy"] if p.exists()), None)


def record(pid: int, seconds: float, out_dir: Path, name: str) -> dict[str, str]:
    """Record `seconds` of `pid` into out_dir/<name>.svg and .txt; the files written."""
    exe = py_spy()
    if exe is None:
        return {"skipped": "py-spy not installed (pip install py-spy)"}
    raw = out_dir / f"{name}.collapsed"
    svg = out_dir / f"{name}.svg"
    common = ["record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
              "--nonblocking", "--rate", "100"]
    procs = [subprocess.Popen([exe, *common, "--format", fmt, "-o", str(path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for fmt, path in (("raw", raw), ("flamegraph", svg))]
    errors = [p.communicate(timeout=seconds + 60)[1].decode(errors="replace") for p in procs]
    if not raw.exists():
        return {"skipped": f"py-spy failed: {errors[0].strip()[-500:]}"}
    summary = summarise(raw.read_text())
    txt = out_dir / f"{name}.txt"
    txt.write_text(summary)
    raw.unlink()  # large; the summary and the SVG carry what matters
    return {"svg": svg.name if svg.exists() else "", "summary": txt.name}


def _short(frame: str) -> str:
    """'handle (threadlock/service.py:42)' -> 'handle (threadlock/service.py)'."""
    func, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "coordinator/", "python3.11/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{func} ({path})" if path else func


def _area(frame: str) -> str:
    path = frame.partition(" (")[2]
    for area, marker in (("threadlock", "threadlock/"), ("grpc", "grpc/"),
                         ("protobuf", "google/protobuf"), ("logging", "logging/"),
                         ("asyncio", "asyncio/"), ("prometheus", "prometheus_client")):
        if marker in path:
            return area
    return "other"


def summarise(collapsed: str) -> str:
    self_count: collections.Counter[str] = collections.Counter()
    total_count: collections.Counter[str] = collections.Counter()
    area_count: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        frames = [f for f in stack.split(";") if " (" in f]  # drop the thread/process labels
        if not frames:
            continue
        samples += count
        self_count[_short(frames[-1])] += count
        area_count[_area(frames[-1])] += count
        for f in set(map(_short, frames)):
            total_count[f] += count
    if not samples:
        return "no active samples\n"

    def table(counter: collections.Counter[str]) -> list[str]:
        return [f"{100 * c / samples:6.1f}%  {name}" for name, c in counter.most_common(TOP)]

    return "\n".join([
        f"active samples: {samples}", "",
        "self time by area (innermost frame's package):", *table(area_count), "",
        f"top {TOP} functions by self time:", *table(self_count), "",
        f"top {TOP} functions by total time (on the stack):", *table(total_count), ""])
