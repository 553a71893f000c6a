"""The stress run's live progress line on stderr (about one a second)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from threadlock.stress import services

if TYPE_CHECKING:
    from threadlock.stress.driver import Driver


class Progress:
    """A line on stderr about every second: elapsed, iterations, acquisitions/s, conflicts so
    far (from the fake), kills."""

    def __init__(self, quiet: bool, base_url: str, planned: int | None,
                 conflicts_before: int | None, guarded: bool = True) -> None:
        self.quiet, self.base_url, self.planned = quiet, base_url, planned
        self.rate = "acq/s" if guarded else "calls/s"  # unguarded workers take no lock
        self.before = conflicts_before
        self.next = 1.0

    def maybe(self, d: Driver, elapsed: float) -> None:
        if self.quiet or elapsed < self.next:
            return
        self.next = elapsed + 1.0
        done = sum(s.done for s in d.slots)
        total = f"/{self.planned}" if self.planned is not None else ""
        conflicts = "?"
        if self.before is not None:
            stats = services.fake_stats(self.base_url)
            if stats is not None:
                conflicts = str(stats["conflicts_total"] - self.before)
        acq = len(d.run.intervals) / elapsed if elapsed > 0 else 0.0
        print(f"[{elapsed:6.1f}s] iterations {done}{total}  {self.rate} {acq:5.1f}  "
              f"conflicts {conflicts}  errors {sum(d.run.errors.values())}  "
              f"kills {len(d.run.kills)}", file=sys.stderr, flush=True)
