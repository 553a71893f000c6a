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


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: everything but idle, iowait)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is in user)
    return (total - fields[3] - fields[4]) / _TICKS


def load_average() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


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
    """Snapshot CPU of named processes at start(), read the difference at stop(). Also
    "other": busy CPU of the whole machine not used by these processes (the machine is shared:
    this is how much a neighbour took from the run)."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)
        self._t0 = 0.0
        self._cpu0: dict[str, float] = {}
        self._busy0 = 0.0

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._cpu0 = {k: cpu_seconds(p) for k, p in self.pids.items()}
        self._busy0 = machine_busy_seconds()

    def stop(self) -> CpuShare:
        wall = time.monotonic() - self._t0
        ours = {k: round(cpu_seconds(p) - self._cpu0[k], 3) for k, p in self.pids.items()}
        busy = machine_busy_seconds() - self._busy0
        ours["other"] = round(max(busy - sum(ours.values()), 0.0), 3)
        return CpuShare(wall, ours)
