"""`threadlock serve` on a host whose wall clock steps: the coordinator's own wall-clock reads
(`time.time`, `time.time_ns` as every threadlock module sees them) jump forward by
THREADLOCK_CHAOS_CLOCK_STEP seconds (default 3600) on SIGUSR1 and back by as much on SIGUSR2,
as after an NTP step or an operator's `date -s`. CLOCK_MONOTONIC is untouched, as on a real
host. The real clock is never changed: the machine is shared.

Only threadlock's modules see the shifted clock, not grpc's: grpc turns a call's deadline into
wall-clock time in its C core when the call arrives and subtracts Python's time.time() in
`time_remaining()` a moment later; on a real host both read the same stepped clock, so a
global patch (C core unshifted, Python shifted) would fake an expired deadline on every call.

    python tests/chaos/stepped_serve.py        (configured by THREADLOCK_* like serve)
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pkgutil
import runpy
import signal
import sys
import time
import types
from types import FrameType
from typing import Any

STEP = float(os.environ.get("THREADLOCK_CHAOS_CLOCK_STEP", "3600"))
_offset = [0.0]
_real_time, _real_time_ns = time.time, time.time_ns


def _step(sign: float) -> None:
    _offset[0] += sign * STEP
    print(f"stepped_serve: wall clock now off by {_offset[0]:+.0f} s", file=sys.stderr,
          flush=True)


def _forward(_sig: int, _frame: FrameType | None) -> None:
    _step(+1)


def _back(_sig: int, _frame: FrameType | None) -> None:
    _step(-1)


class _SteppedTime(types.ModuleType):
    """`time` with a stepped wall clock; everything else is the real module's."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def time() -> float:
        return _real_time() + _offset[0]

    @staticmethod
    def time_ns() -> int:
        return _real_time_ns() + int(_offset[0] * 1e9)


def _install() -> None:
    """Import every threadlock module, then point their `time` (under any name) at ours."""
    import threadlock

    for info in pkgutil.walk_packages(threadlock.__path__, "threadlock."):
        with contextlib.suppress(Exception):  # an optional part that does not import here
            importlib.import_module(info.name)
    stepped = _SteppedTime("time")
    for name, module in list(sys.modules.items()):
        if name == "threadlock" or name.startswith("threadlock."):
            for attr, value in list(vars(module).items()):
                if value is time:
                    setattr(module, attr, stepped)


_install()
signal.signal(signal.SIGUSR1, _forward)
signal.signal(signal.SIGUSR2, _back)
sys.argv = ["threadlock", "serve"]
runpy.run_module("threadlock", run_name="__main__")
