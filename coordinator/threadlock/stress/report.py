"""What a stress run found, from the workers' events and the fake OpenAI's counters: pure
functions (no I/O), so each check is unit-tested on hand-made events.

Inputs are `Interval`s (one per lock hold, or per unguarded call), `Kill`s and per-worker
counts; `analyse()` returns a JSON-ready dict that `table()` renders as text. Times are
`time.monotonic()` seconds, a clock the driver and its workers share (system-wide on Linux).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Interval:
    """One hold (guarded: from grant to just before the release was sent) or one call
    (unguarded). `end` is None while open; a killed worker's open interval ends at its kill."""

    worker: int
    key: str
    token: int | None
    requested: float
    start: float  # granted
    end: float | None


@dataclass(frozen=True)
class Kill:
    worker: int
    at: float
    held_key: str | None  # the key it held when killed (None: it held nothing)


def closed(intervals: Iterable[Interval], kills: Sequence[Kill]) -> list[Interval]:
    """Intervals with an end: a killed worker's open one ends at the kill (its work stopped
    there; its lock lasts until the TTL, which the handover check covers). Others still open
    (the run was cut short) are dropped."""
    kill_at: dict[int, list[float]] = {}
    for k in kills:
        kill_at.setdefault(k.worker, []).append(k.at)
    out = []
    for iv in intervals:
        if iv.end is not None:
            out.append(iv)
            continue
        later = [t for t in kill_at.get(iv.worker, []) if t >= iv.start]
        if later:
            out.append(Interval(iv.worker, iv.key, iv.token, iv.requested, iv.start, min(later)))
    return out


def overlaps(intervals: Iterable[Interval]) -> list[tuple[Interval, Interval]]:
    """Pairs (earlier, later) on one key where `later` started before `earlier` ended: two
    workers inside at once. Sorted by start, each interval is checked against the one that
    reaches furthest among those before it, so every overlapping interval is counted once."""
    found: list[tuple[Interval, Interval]] = []
    by_key: dict[str, list[Interval]] = {}
    for iv in intervals:
        by_key.setdefault(iv.key, []).append(iv)
    for ivs in by_key.values():
        ivs.sort(key=lambda iv: iv.start)
        reach: Interval | None = None  # of those so far, the one that ends last
        reach_end = -math.inf
        for iv in ivs:
            end = iv.start if iv.end is None else iv.end
            if reach is not None and iv.start < reach_end:
                found.append((reach, iv))
            if end > reach_end:
                reach, reach_end = iv, end
    return found


def token_violations(intervals: Iterable[Interval]) -> list[tuple[Interval, Interval]]:
    """Pairs (previous, next) on one key, in grant order, whose fencing tokens do not strictly
    increase (a duplicate or a step back). Intervals without a token are skipped."""
    bad: list[tuple[Interval, Interval]] = []
    by_key: dict[str, list[Interval]] = {}
    for iv in intervals:
        if iv.token is not None:
            by_key.setdefault(iv.key, []).append(iv)
    for ivs in by_key.values():
        ivs.sort(key=lambda iv: iv.start)
        for prev, nxt in itertools.pairwise(ivs):
            assert prev.token is not None and nxt.token is not None
            if nxt.token <= prev.token:
                bad.append((prev, nxt))
    return bad


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(rank), math.ceil(rank)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def jain(counts: Sequence[int]) -> float | None:
    """Jain's fairness index of per-worker shares: 1.0 = equal, 1/n = one worker got all."""
    if not counts or not any(counts):
        return None
    return sum(counts) ** 2 / (len(counts) * sum(c * c for c in counts))


def handovers(intervals: Sequence[Interval], kills: Sequence[Kill]) -> list[dict[str, Any]]:
    """For each kill of a holder: seconds from the kill to the next grant of its key to
    another worker (None if none came before the run ended)."""
    out = []
    for k in kills:
        if k.held_key is None:
            continue
        nxt = [iv.start for iv in intervals
               if iv.key == k.held_key and iv.worker != k.worker and iv.start >= k.at]
        out.append({"worker": k.worker, "key": k.held_key,
                    "seconds": round(min(nxt) - k.at, 3) if nxt else None})
    return out


@dataclass(frozen=True)
class RunFacts:
    """What the driver knew besides the events."""

    mode: str
    api: str
    workers: int
    planned: int | None  # workers x iterations; None in duration mode
    elapsed: float
    ttl: float
    handover_slack: float
    fake: bool  # the fake OpenAI's counters were readable (else conflicts are what workers saw)
    conflicts_fake: int | None
    max_concurrent: Mapping[str, int]
    conflicts_seen: int  # busy answers the workers themselves got
    t0: float = 0.0  # when the workers were released: example times are shown relative to it


def analyse(facts: RunFacts, intervals: Sequence[Interval], kills: Sequence[Kill],
            done_by_worker: Mapping[int, int], errors: Mapping[str, int]) -> dict[str, Any]:
    """The report as one JSON-ready dict; `verdict` is "pass", "fail" (guarded mode saw a
    collision, a token violation, a slow handover, or nothing completed) or "demo"."""
    ivs = closed(intervals, kills)
    pairs = overlaps(ivs)
    tokens = token_violations(ivs)
    waits = [iv.start - iv.requested for iv in ivs if iv.token is not None]
    shares = [done_by_worker.get(w, 0) for w in range(facts.workers)]
    done = sum(shares)
    conflicts = facts.conflicts_fake if facts.conflicts_fake is not None else facts.conflicts_seen
    hand = handovers(ivs, kills)
    limit = facts.ttl + facts.handover_slack
    slow = [h for h in hand if h["seconds"] is not None and h["seconds"] > limit]
    reasons = []
    if facts.mode == "guarded":
        if conflicts:
            reasons.append(f"{conflicts} OpenAI conflicts")
        if pairs:
            reasons.append(f"{len(pairs)} overlapping holds")
        if tokens:
            reasons.append(f"{len(tokens)} fencing-token violations")
        if slow:
            reasons.append(f"{len(slow)} handovers slower than TTL + slack ({limit:g}s)")
        if done == 0:
            reasons.append("no iteration completed")

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 1)

    return {
        "mode": facts.mode, "api": facts.api, "workers": facts.workers,
        "verdict": ("fail" if reasons else "pass") if facts.mode == "guarded" else "demo",
        "reasons": reasons,
        "iterations": {"done": done, "planned": facts.planned,
                       "failed": sum(errors.values())},
        "elapsed_s": round(facts.elapsed, 3),
        "acquisitions_per_s": round(len(ivs) / facts.elapsed, 2) if facts.elapsed else None,
        "conflicts": conflicts,
        "conflicts_source": "fake OpenAI" if facts.conflicts_fake is not None else "workers",
        "conflicts_seen_by_workers": facts.conflicts_seen,
        "max_concurrent": dict(facts.max_concurrent),
        "overlaps": len(pairs),
        "overlap_examples": [_pair(a, b, facts.t0) for a, b in pairs[:5]],
        "token_violations": len(tokens),
        "token_violation_examples": [_pair(a, b, facts.t0) for a, b in tokens[:5]],
        "wait_ms": {"p50": ms(percentile(waits, 50)), "p95": ms(percentile(waits, 95)),
                    "p99": ms(percentile(waits, 99)), "max": ms(max(waits, default=None))},
        "fairness": {"per_worker": shares, "min": min(shares, default=0),
                     "max": max(shares, default=0), "jain": _round(jain(shares))},
        "errors": dict(sorted(errors.items())),
        "kills": {"total": len(kills), "holders": len(hand), "handovers_s": hand,
                  "limit_s": limit},
    }


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


def _pair(a: Interval, b: Interval, t0: float) -> dict[str, Any]:
    """Two intervals, times in seconds since the run started."""
    def side(iv: Interval) -> dict[str, Any]:
        return {"worker": iv.worker, "token": iv.token, "start": round(iv.start - t0, 3),
                "end": None if iv.end is None else round(iv.end - t0, 3)}
    return {"key": a.key, "first": side(a), "second": side(b)}


def table(r: Mapping[str, Any]) -> str:
    """The report as an aligned text table (what a person reads at the end of a run)."""
    it, w, f, k = r["iterations"], r["wait_ms"], r["fairness"], r["kills"]
    planned = f"/{it['planned']}" if it["planned"] is not None else ""

    def v(x: object) -> str:
        return "-" if x is None else str(x)

    errors = ", ".join(f"{kind} {n}" for kind, n in r["errors"].items()) or "none"
    rows = [
        ("mode / api", f"{r['mode']} / {r['api']}, {r['workers']} workers"),
        ("iterations done", f"{it['done']}{planned} ({it['failed']} failed)"),
        ("elapsed", f"{r['elapsed_s']:.1f} s"),
        ("OpenAI conflicts", f"{r['conflicts']} (counted by the {r['conflicts_source']}; "
                             f"workers saw {r['conflicts_seen_by_workers']})"),
        ("max concurrent per key", ", ".join(f"{key} {n}" for key, n in
                                             sorted(r["max_concurrent"].items())) or "-"),
        ("overlaps", str(r["overlaps"])),
        ("token violations", str(r["token_violations"])),
        ("acquisitions/s", v(r["acquisitions_per_s"])),
        ("wait ms p50/p95/p99/max", f"{v(w['p50'])} / {v(w['p95'])} / {v(w['p99'])} / "
                                    f"{v(w['max'])}"),
        ("per-worker iterations", f"{f['per_worker']} (min {f['min']}, max {f['max']}, "
                                  f"Jain {v(f['jain'])})"),
        ("errors", errors),
        ("kills", f"{k['total']} ({k['holders']} of holders); handover s: "
                  + (", ".join(v(h["seconds"]) for h in k["handovers_s"]) or "-")
                  + f" (limit {k['limit_s']:g})"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name.ljust(width)}  {value}" for name, value in rows]
    for ex in r["overlap_examples"][:3]:
        first, second = ex["first"], ex["second"]
        lines.append(f"  overlap on {ex['key']}: worker {first['worker']} held "
                     f"[{first['start']}s, {first['end']}s], worker {second['worker']} "
                     f"from {second['start']}s")
    lines.append(verdict_line(r))
    return "\n".join(lines)


def verdict_line(r: Mapping[str, Any]) -> str:
    if r["verdict"] == "demo":
        if r["conflicts"]:
            return (f"unguarded showed {r['conflicts']} OpenAI conflicts and {r['overlaps']} "
                    "overlaps: the race the guard prevents")
        return ("unguarded did not reproduce the race this time (0 conflicts); try more "
                "workers or a longer --call-seconds")
    if r["verdict"] == "pass":
        return "PASS: guarded workers never collided"
    return "FAIL: " + "; ".join(r["reasons"])


def count(kinds: Iterable[str]) -> dict[str, int]:
    return dict(Counter(kinds))
