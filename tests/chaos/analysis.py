"""The checks over the workers' hold records: overlapping holds of one key, fencing tokens
out of order, resource rejections, and the longest pause without any grant after a fault."""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Report:
    holds: int = 0
    overlaps: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    out_of_order: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    rejected: int = 0
    lost: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: dict[str, str] = field(default_factory=dict)
    starts: list[float] = field(default_factory=list)

    def longest_gap(self, after: float, until: float) -> float:
        """The longest time without a grant (of any key) between `after` and `until`."""
        points = [after, *[t for t in self.starts if after < t < until], until]
        return max(b - a for a, b in itertools.pairwise(points))

    def grants_between(self, after: float, until: float) -> int:
        return sum(1 for t in self.starts if after <= t < until)

    def summary(self) -> str:
        return (f"{self.holds} holds, {len(self.overlaps)} overlaps, {len(self.out_of_order)} "
                f"fencing tokens out of order, {self.rejected} resource rejections, "
                f"{self.lost} holds lost, errors {dict(self.errors)}")

    def assert_safe(self) -> None:
        """0 overlapping holds, fencing tokens strictly increasing per key, no rejection."""
        assert not self.overlaps, f"overlapping holds: {self.overlaps[:3]} ({self.summary()})"
        assert not self.out_of_order, (
            f"fencing tokens out of order: {self.out_of_order[:3]} ({self.summary()})")
        assert self.rejected == 0, f"the resource rejected writes ({self.summary()})"


def load(paths: list[Path]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in paths:
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    records.append(json.loads(line))
    return records


def analyse(records: list[dict[str, Any]]) -> Report:
    report = Report()
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if "error" in r:
            report.errors[r["error"]] += 1
            report.error_samples.setdefault(r["error"], r["detail"])
            continue
        by_key[r["key"]].append(r)
        report.holds += 1
        report.rejected += bool(r["rejected"])
        report.lost += bool(r["lost"])
        report.starts.append(r["start"])
    report.starts.sort()
    for holds in by_key.values():
        holds.sort(key=lambda r: r["start"])
        latest: dict[str, Any] | None = None  # the hold that ends last so far
        for prev, cur in itertools.pairwise(holds):
            if cur["token"] <= prev["token"]:
                report.out_of_order.append((prev, cur))
        for cur in holds:
            if latest is not None and cur["start"] < latest["end"]:
                report.overlaps.append((latest, cur))
            if latest is None or cur["end"] > latest["end"]:
                latest = cur
    return report
