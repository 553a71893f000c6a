"""What a stress run found, from the workers' events and the fake OpenAI's counters: pure
functions (no I/O), so each check is unit-tested on hand-made events.

Inputs are `Interval`s (one per lock hold, or per unguarded call), `Kill`s, `Ask`s (lock
requests never granted), when each worker was seen to end, and per-worker counts;
`analyse()` returns a JSON-ready dict that `table()` renders as text. Times are
`time.monotonic()` seconds, a clock the driver and its workers share (system-wide on Linux).
"""

from __future__ import annotations

import dataclasses
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
    in_flight: bool | None = None  # the fake had a response/run in flight just after (None: no
    #                                fake to ask): a kill in mid-call, the case worth testing


@dataclass(frozen=True)
class Ask:
    """A request for a lock that was never granted: the worker gave up (`gave_up`: ThreadBusy,
    or another error), ended while waiting (`until` its end), or still waited at the end of the
    run (`until` None)."""

    worker: int
    key: str
    at: float
    until: float | None
    gave_up: bool = False


def closed(intervals: Iterable[Interval], kills: Sequence[Kill],
           exits: Mapping[int, float] | None = None) -> list[Interval]:
    """Intervals with an end. An open one ends at its worker's kill (its work stopped there; its
    lock lasts until the TTL, which the handover check covers) or else when the driver saw the
    worker end (`exits`), whatever the cause: a worker that crashed or froze while holding may
    well have been inside when the next one came in, which is what the overlap check is for.
    Open intervals of a worker with neither are dropped (nothing says how long they lasted)."""
    kill_at: dict[int, list[float]] = {}
    for k in kills:
        kill_at.setdefault(k.worker, []).append(k.at)
    exits = exits or {}
    out = []
    for iv in intervals:
        if iv.end is not None:
            out.append(iv)
            continue
        ends = [t for t in kill_at.get(iv.worker, []) if t >= iv.start]
        if iv.worker in exits:
            ends.append(max(exits[iv.worker], iv.start))
        if ends:
            out.append(Interval(iv.worker, iv.key, iv.token, iv.requested, iv.start, min(ends)))
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


def handovers(intervals: Sequence[Interval], kills: Sequence[Kill], asks: Sequence[Ask],
              ttl: float, limit: float, end: float) -> list[dict[str, Any]]:
    """For each kill of a holder: seconds from the kill to the next grant of its key to another
    worker, and a status. Only a handover someone waited for is judged: a waiter is a worker
    that asked for the key before kill + TTL (when the lease ran out at the latest) and was
    granted it after the kill, or was still waiting at kill + `limit`. Without one, the next
    grant went to a worker that asked later (a replacement still starting, say): its own
    start-up would be measured, so the status is "no waiter", never a failure.
    Statuses: "ok" (within `limit`), "slow", "lost" (a waiter, yet no grant up to the end of
    the run, which went on past kill + `limit`), "unknown" (the run ended too soon to tell),
    "no waiter"."""
    out = []
    for k in kills:
        if k.held_key is None:
            continue
        deadline = k.at + ttl  # asked by then: was waiting when the lock had to come back
        grants = sorted((iv for iv in intervals if iv.key == k.held_key
                         and iv.worker != k.worker and iv.start >= k.at),
                        key=lambda iv: iv.start)
        waited = any(g.requested < deadline for g in grants) or any(
            a.key == k.held_key and a.worker != k.worker and a.at < deadline
            and (a.until is None or a.until >= k.at + limit) for a in asks)
        seconds = round(grants[0].start - k.at, 3) if grants else None
        if not waited:
            status = "no waiter"
        elif seconds is not None:
            status = "ok" if seconds <= limit else "slow"
        else:
            status = "lost" if end > k.at + limit else "unknown"
        out.append({"worker": k.worker, "key": k.held_key, "seconds": seconds,
                    "status": status, "in_flight": k.in_flight})
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
    kills_asked: bool = False  # --kill-every was given
    allow_busy: bool = False  # --allow-busy: giving up a wait (ThreadBusy) is no failure
    stalled: float | None = None  # no iteration ended for this many seconds: the run gave up
    not_done: Mapping[int, int] = dataclasses.field(default_factory=dict)  # per slot, if stalled

    @property
    def end(self) -> float:
        """When the run ended (monotonic seconds)."""
        return self.t0 + self.elapsed


def analyse(facts: RunFacts, intervals: Sequence[Interval], kills: Sequence[Kill],
            done_by_worker: Mapping[int, int], errors: Mapping[str, int],
            asks: Sequence[Ask] = (), exits: Mapping[int, float] | None = None,
            ) -> dict[str, Any]:
    """The report as one JSON-ready dict; `verdict` is "pass", "fail" (a guarded run saw a
    collision, a token violation, an error, a slow or lost handover, a stall, or nothing
    completed; `reasons` says which) or "demo" (unguarded)."""
    guarded = facts.mode == "guarded"
    ivs = closed(intervals, kills, exits)
    pairs = overlaps(ivs)
    tokens = token_violations(ivs)
    gave_up = [a.until - a.at for a in asks if a.gave_up and a.until is not None]
    # A wait that ran out is a wait too: leaving it out would flatter the percentiles.
    waits = [iv.start - iv.requested for iv in ivs if iv.token is not None] + gave_up
    shares = [done_by_worker.get(w, 0) for w in range(facts.workers)]
    done = sum(shares)
    conflicts = facts.conflicts_fake if facts.conflicts_fake is not None else facts.conflicts_seen
    limit = facts.ttl + facts.handover_slack
    hand = handovers(ivs, kills, asks, facts.ttl, limit, facts.end)
    by_status = Counter(h["status"] for h in hand)
    failing = {kind: n for kind, n in errors.items()
               if not (facts.allow_busy and kind == "ThreadBusy")}
    reasons = []
    if guarded:
        if conflicts:
            reasons.append(f"{conflicts} OpenAI conflicts")
        if pairs:
            reasons.append(f"{len(pairs)} overlapping holds")
        if tokens:
            reasons.append(f"{len(tokens)} fencing-token violations")
        if failing:
            hint = (" (ThreadBusy: a --wait ran out; --allow-busy accepts that)"
                    if "ThreadBusy" in failing else "")
            reasons.append(f"{sum(failing.values())} errors: " + ", ".join(
                f"{kind} {n}" for kind, n in sorted(failing.items())) + hint)
        if by_status["slow"]:
            reasons.append(f"{by_status['slow']} handovers slower than TTL + slack "
                           f"({limit:g}s)")
        if by_status["lost"]:
            reasons.append(f"{by_status['lost']} killed holders' locks never came back "
                           "though a worker waited")
        if facts.stalled is not None:
            lost = ", ".join(f"slot {slot}: {n}" for slot, n in sorted(facts.not_done.items())
                             if n) or "none counted"
            reasons.append(f"stalled: no iteration ended for {facts.stalled:g}s; iterations "
                           f"not done: {lost}")
        if done == 0:
            reasons.append("no iteration completed")

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 1)

    rate = round(len(ivs) / facts.elapsed, 2) if facts.elapsed else None
    return {
        "mode": facts.mode, "api": facts.api, "workers": facts.workers,
        "verdict": ("fail" if reasons else "pass") if guarded else "demo",
        "reasons": reasons,
        "iterations": {"done": done, "planned": facts.planned,
                       "failed": sum(errors.values())},
        "elapsed_s": round(facts.elapsed, 3),
        # Unguarded workers take no lock: their intervals are calls, not acquisitions.
        "acquisitions_per_s": rate if guarded else None,
        "calls_per_s": None if guarded else rate,
        "conflicts": conflicts,
        "conflicts_source": "fake OpenAI" if facts.conflicts_fake is not None else "workers",
        "conflicts_seen_by_workers": facts.conflicts_seen,
        "max_concurrent": dict(facts.max_concurrent),
        "overlaps": len(pairs),
        "overlap_examples": [_pair(a, b, facts.t0) for a, b in pairs[:5]],
        "token_violations": len(tokens),
        "token_violation_examples": [_pair(a, b, facts.t0) for a, b in tokens[:5]],
        "wait_ms": {"p50": ms(percentile(waits, 50)), "p95": ms(percentile(waits, 95)),
                    "p99": ms(percentile(waits, 99)), "max": ms(max(waits, default=None)),
                    "gave_up": len(gave_up)},
        "fairness": {"per_worker": shares, "min": min(shares, default=0),
                     "max": max(shares, default=0), "jain": _round(jain(shares))},
        "errors": dict(sorted(errors.items())),
        "kills": {"asked": facts.kills_asked, "total": len(kills), "holders": len(hand),
                  "in_flight": (sum(bool(k.in_flight) for k in kills)
                                if any(k.in_flight is not None for k in kills) else None),
                  "handovers_s": hand, "by_status": dict(sorted(by_status.items())),
                  "limit_s": limit},
        "stalled_s": facts.stalled,
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
    guarded = r["mode"] == "guarded"

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
        ("acquisitions/s", v(r["acquisitions_per_s"])) if guarded
        else ("calls/s", v(r["calls_per_s"])),
        ("wait ms p50/p95/p99/max", f"{v(w['p50'])} / {v(w['p95'])} / {v(w['p99'])} / "
                                    f"{v(w['max'])} ({w['gave_up']} gave up)"),
        ("per-worker iterations", f"{f['per_worker']} (min {f['min']}, max {f['max']}, "
                                  f"Jain {v(f['jain'])})"),
        ("errors", errors),
    ]
    if k["asked"]:
        in_flight = "" if k["in_flight"] is None else f", {k['in_flight']} in mid-call"
        rows.append(("kills", f"{k['total']} ({k['holders']} of holders{in_flight}); "
                              "handover s: " + (", ".join(
                                  f"{v(h['seconds'])} {h['status']}"
                                  for h in k["handovers_s"]) or "-")
                     + f" (limit {k['limit_s']:g})"))
    width = max(len(name) for name, _ in rows)
    lines = [f"{name.ljust(width)}  {value}" for name, value in rows]
    inside = "held" if guarded else "called"
    for ex in r["overlap_examples"][:3]:
        first, second = ex["first"], ex["second"]
        lines.append(f"  overlap on {ex['key']}: worker {first['worker']} {inside} "
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
