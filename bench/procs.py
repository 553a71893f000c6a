"""Per-process resource readings from /proc: CPU seconds (user + system, all threads) and
resident memory. Used to say which process saturates the machine in each phase."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` (every thread), in seconds; 0.0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return 0.0
    # The command name (field 2) may contain spaces: split after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # fields 14 and 15 of proc(5)


def rss_bytes(pid: int) -> int:
    """VmRSS of `pid` in bytes (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class CpuShare:
    """CPU used per process over one phase: seconds, and seconds per wall second (1.0 = one
    core busy for the whole phase)."""

    wall: float
    seconds: dict[str, float]

    def per_wall(self) -> dict[str, float]:
        return {k: round(v / self.wall, 3) if self.wall > 0 else 0.0
                for k, v in self.seconds.items()}


class CpuMeter:
    """Snapshot CPU of named processes at start(), read the difference at stop()."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)
        self._t0 = 0.0
        self._cpu0: dict[str, float] = {}

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._cpu0 = {k: cpu_seconds(p) for k, p in self.pids.items()}

    def stop(self) -> CpuShare:
        wall = time.monotonic() - self._t0
        return CpuShare(wall, {k: round(cpu_seconds(p) - self._cpu0[k], 3)
                               for k, p in self.pids.items()})
