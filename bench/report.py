"""Results of one run: latest.json (every number, and the machine), latest.md (the tables,
each target with PASS/MISS and its measured value) and throughput.png (pairs/s against
concurrency, one line per system)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.procs import load_average
from bench.stack import ROOT

# Issue 12's targets T1-T5 (the coordinator is the SDK's default path: a lease per lock).
T1_CLIENTS = 32
TARGET_RAW = 1.0  # T1: coordinator >= 1.0x the raw etcd 2-write cycle at 32 clients
TARGET_V3LOCK = 2.0  # T1: ... and >= 2x etcd's v3lock
TARGET_HANDOFFS_VS_V3LOCK = 2.0  # T2: handoffs/s >= 2x v3lock's, 16 contenders
TARGET_HANDOFF_P50_MS = 2.0  # T2
TARGET_GUARD_P50_MS, TARGET_GUARD_P99_MS = 3.0, 5.0  # T3: the guard's added latency
TARGET_CPU_MS = 0.6  # T5: coordinator CPU ms per lock+unlock
# T1 is defined on "the coordinator through the SDK's default path": the Python SDK on its
# default (stream) transport. T5 is reported on the same path; the other variants follow as
# "(T1)"/"(T5)" lines, the unary own-lease path first among them (the 2.4 ms of the issue).
DEFAULT_PATH = "sdk-stream"
TARGET_STATUS_P99_MS = 5.0
TARGET_RSS_MB = 200.0
TARGET_CRASH_SLACK = 0.5


def machine(etcd_version: str, fsync: bool) -> dict[str, Any]:
    """What ran the benchmark. `load_at_start`: 1-minute load average before our stack ran
    anything (the machine is shared; the CPU columns' "other" says how much during each point)."""
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True, check=False).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(mem_kb / 1024 / 1024, 1),
            "kernel": platform.release(), "python": platform.python_version(),
            "etcd": etcd_version, "etcd_fsync": fsync,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load_at_start": load_average(),
            "commit": commit + ("+dirty" if dirty else "")}


def targets(res: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, passed); passed None = not measured in this run."""
    out: list[tuple[str, str, bool | None]] = []
    unc = res.get("uncontended")
    if unc:
        ns = sorted({p["clients"] for p in unc["points"]})
        for r in (r for r in unc["ratios"] if r["clients"] in (T1_CLIENTS, ns[-1])):
            raw, v3 = r.get("vs_etcd-raw"), r.get("vs_etcd-v3lock")
            tag = "T1" if r["system"] == DEFAULT_PATH and r["clients"] == T1_CLIENTS else "(T1)"
            if raw is not None and v3 is not None:
                out.append((f"{tag} {r['system']} >= {TARGET_V3LOCK:g}x etcd-v3lock and >= "
                            f"{TARGET_RAW:g}x etcd-raw at {r['clients']} clients",
                            f"{v3:.2f}x v3lock, {raw:.2f}x raw",
                            v3 >= TARGET_V3LOCK and raw >= TARGET_RAW))
        cpu = [p for system in (DEFAULT_PATH, "coordinator") for p in unc["points"]
               if p["system"] == system and p["clients"] == T1_CLIENTS and p["ops_per_s"]]
        for p in cpu:
            ms = 1e3 * p["cpu_per_wall"].get("coordinator", 0.0) / p["ops_per_s"]
            tag = "T5" if p["system"] == DEFAULT_PATH else "(T5)"
            out.append((f"{tag} coordinator CPU per lock+unlock <= {TARGET_CPU_MS:g} ms "
                        f"({p['system']}, {T1_CLIENTS} clients)", f"{ms:.2f} ms",
                        ms <= TARGET_CPU_MS))
    con = res.get("contended")
    if con:
        by = {r["system"]: r for r in con["results"]}
        r, v3 = by.get("coordinator"), by.get("etcd-v3lock")
        if r is not None:
            ratio = r["handoffs_per_s"] / v3["handoffs_per_s"] if v3 and v3["handoffs_per_s"] else 0
            bad = (r["fencing_violations"] or 0) + r["overtakes"]
            out.append((f"T2 {con['workers']} contenders: >= {TARGET_HANDOFFS_VS_V3LOCK:g}x "
                        f"v3lock handoffs/s, p50 <= {TARGET_HANDOFF_P50_MS:g} ms, FIFO+fencing",
                        f"{ratio:.2f}x ({r['handoffs_per_s']:g}/s), p50 "
                        f"{r['handoff_p50_ms']:.2f} ms, {r['fencing_violations']} fencing-order "
                        f"and {r['overtakes']} overtakes in {r['grants']} grants",
                        ratio >= TARGET_HANDOFFS_VS_V3LOCK
                        and r["handoff_p50_ms"] <= TARGET_HANDOFF_P50_MS and bad == 0))
    g = res.get("guard")
    if g:
        out.append((f"T3 guard adds <= {TARGET_GUARD_P50_MS:g} ms p50 and <= "
                    f"{TARGET_GUARD_P99_MS:g} ms p99 (one sequential caller)",
                    f"+{g['added_p50_ms']:.2f} ms p50, +{g['added_p99_ms']:.2f} ms p99"
                    + (f" (etcd-raw's two writes alone: p50 {raw['p50_ms']:.2f} ms)"
                       if (raw := g.get("floors", {}).get("etcd-raw")) else ""),
                    g["added_p50_ms"] <= TARGET_GUARD_P50_MS
                    and g["added_p99_ms"] <= TARGET_GUARD_P99_MS))
    sc = res.get("scale")
    if sc:
        ka = sc["keepalive"]
        full, half = ka["all_sessions"], ka["half_sessions"]
        per = full["etcd_keepalives_per_s"]
        ratio = half["etcd_keepalives_per_s"] / per if per else 0.0
        expected = ka["expected_client_per_s"]
        ok = per > 0 and abs(per / expected - 1) <= 0.25 and 0.35 <= ratio <= 0.65
        out.append((f"{sc['locks']:,} locks: keepalive traffic proportional to sessions",
                    f"etcd {per:g}/s for {sc['sessions']} sessions (expected "
                    f"{expected:g}/s), {ratio:.2f}x with half of them", ok))
        out.append((f"T4 {sc['locks']:,} locks: Status(key) p99 <= {TARGET_STATUS_P99_MS:g} ms",
                    f"{sc['status']['p99_ms']:.2f} ms",
                    sc["status"]["p99_ms"] <= TARGET_STATUS_P99_MS))
        out.append((f"{sc['locks']:,} locks: coordinator RSS <= {TARGET_RSS_MB:g} MB",
                    f"{sc['rss_after_mb']:g} MB (peak {sc['rss_peak_mb']:g})",
                    sc["rss_after_mb"] <= TARGET_RSS_MB))
    cr = res.get("crash")
    if cr:
        out.append((f"crashed holder: lock free within TTL + {TARGET_CRASH_SLACK:g} s",
                    f"max {cr['max_s']:.2f} s (TTL {cr['ttl']} s)",
                    cr["max_s"] <= cr["ttl"] + TARGET_CRASH_SLACK))
    return out


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _server_ms_per_pair(p: dict[str, Any]) -> str:
    """Server CPU per pair: its CPU per wall second (warm-up and window run the same load)
    over pairs per second."""
    servers = {"redis": ("redis",)}.get(p["system"], ("coordinator", "etcd"))
    per_wall = sum(p["cpu_per_wall"].get(k, 0.0) for k in servers)
    if not p["ops_per_s"]:
        return "-"
    return f"{1e3 * per_wall / p['ops_per_s']:.2f}"


def _coordinator_ms_per_pair(p: dict[str, Any]) -> str:
    """The coordinator's own CPU per pair (issue 12's T5), for the systems that use it."""
    per_wall = p["cpu_per_wall"].get("coordinator", 0.0)
    if not p["ops_per_s"] or p["system"] in ("etcd-v3lock", "etcd-raw", "redis"):
        return "-"
    return f"{1e3 * per_wall / p['ops_per_s']:.2f}"


def summary(res: dict[str, Any]) -> list[str]:
    """Pairs/s per system (rows) and concurrency (columns), p50 at the highest: the table the
    top-level README quotes."""
    unc = res.get("uncontended")
    if not unc:
        return []
    ns = sorted({p["clients"] for p in unc["points"]})
    by = {(p["system"], p["clients"]): p for p in unc["points"]}
    lines = ["## Summary: uncontended lock+unlock pairs/s (median of rounds)", "",
             _row(["system", *(f"{n} client{'s' if n > 1 else ''}" for n in ns),
                   f"p50 / p99 ms at {ns[-1]}"]), _row(["---"] * (len(ns) + 2))]
    for system in dict.fromkeys(p["system"] for p in unc["points"]):
        top = by[(system, ns[-1])]
        lines.append(_row([system, *(f"{by[(system, n)]['ops_per_s']:.0f}" for n in ns),
                           f"{top['p50_ms']:.1f} / {top['p99_ms']:.1f}"]))
    return [*lines, ""]


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = ["# threadlock benchmark results", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, Linux "
             f"{m['kernel']}, Python {m['python']}; etcd {m['etcd']} (fsync "
             f"{'on' if m['etcd_fsync'] else 'off'}), one member on loopback. {m['date']}, "
             f"commit {m['commit']}. Mode: {res['mode']}; took {res['took_s']:.0f} s. Load "
             f"average at start {m['load_at_start']}.", ""]
    lines += summary(res)
    unc = res.get("uncontended")
    if unc:
        lines += ["## Uncontended: lock+unlock cycles/s, distinct keys", "",
                  f"pairs/s: median of {unc.get('rounds', 1)} round(s), every system once per "
                  "round (range in the JSON); latency pooled over the rounds.", "",
                  "CPU columns: CPU seconds per wall second of each process during the point "
                  f"({m['cores']} cores = {m['cores']}.0 in all; \"other\": processes not "
                  "ours, the machine is shared).", "",
                  "CPU ms/pair: CPU milliseconds the system's server (coordinator + etcd, "
                  "etcd alone, or redis) spent per pair.", "",
                  _row(["system", "clients", "pairs/s", "p50 ms", "p99 ms", "errors",
                        "CPU coord", "CPU etcd", "CPU loadgen", "CPU redis", "CPU other",
                        "server CPU ms/pair", "coord CPU ms/pair"]),
                  _row(["---"] * 13)]
        for p in unc["points"]:
            c = p["cpu_per_wall"]
            lines.append(_row([p["system"], p["clients"], f"{p['ops_per_s']:.0f}",
                               f"{p['p50_ms']:.2f}", f"{p['p99_ms']:.2f}", p["errors"],
                               c.get("coordinator", "-"), c.get("etcd", "-"),
                               c.get("loadgen", "-"), c.get("redis", "-"),
                               c.get("other", "-"), _server_ms_per_pair(p),
                               _coordinator_ms_per_pair(p)]))
        lines += ["", "Ratios (coordinator pairs/s over the baseline's, same run):", "",
                  _row(["clients", "system", "vs etcd-raw", "vs etcd-v3lock", "vs redis"]),
                  _row(["---"] * 5)]
        for r in unc["ratios"]:
            lines.append(_row([r["clients"], r["system"], r.get("vs_etcd-raw", "-"),
                               r.get("vs_etcd-v3lock", "-"), r.get("vs_redis", "-")]))
        lines += ["", "etcd requests per pair (by method; from etcd's own counters, highest "
                  "concurrency):", "", _row(["system", "etcd requests per lock+unlock"]),
                  _row(["---", "---"])]
        top = max(p["clients"] for p in unc["points"])
        for p in unc["points"]:
            per = p.get("etcd_requests_per_pair") or {}
            if p["clients"] == top and per:
                lines.append(_row([p["system"], ", ".join(f"{k} {v:g}" for k, v in per.items())
                                   + f" (total {sum(per.values()):.2f})"]))
        if unc.get("redis_skipped"):
            lines += ["", f"Redis baseline skipped: {unc['redis_skipped']}."]
        lines.append("")
    con = res.get("contended")
    if con:
        lines += [f"## Contended: {con['workers']} workers on one key", "",
                  _row(["system", "grants", "handoffs/s", "handoff p50 ms", "handoff p99 ms",
                        "fencing-order violations", "overtakes", "errors", "CPU coord",
                        "CPU etcd", "CPU loadgen", "CPU other"]), _row(["---"] * 12)]
        for r in con["results"]:
            c = r["cpu_per_wall"]
            fv = "n/a" if r["fencing_violations"] is None else r["fencing_violations"]
            lines.append(_row([r["system"], r["grants"], r["handoffs_per_s"],
                               f"{r['handoff_p50_ms']:.2f}", f"{r['handoff_p99_ms']:.2f}", fv,
                               r["overtakes"], r["errors"], c.get("coordinator", "-"),
                               c.get("etcd", "-"), c.get("loadgen", "-"), c.get("other", "-")]))
        lines.append("")
    sc = res.get("scale")
    if sc:
        ka = sc["keepalive"]
        lines += [f"## Scale: {sc['locks']:,} locks held by {sc['sessions']} sessions", "",
                  _row(["measure", "value"]), _row(["---", "---"]),
                  _row(["acquire all (session locks, wait 0)",
                        f"{sc['acquire_seconds']} s, {sc['acquire_per_s']}/s, "
                        f"{sc['acquire_errors']} errors"]),
                  _row(["coordinator RSS before / with all held / peak",
                        f"{sc['rss_before_mb']} / {sc['rss_after_mb']} / {sc['rss_peak_mb']} MB"]),
                  _row(["Status(key) p50 / p99 / max",
                        f"{sc['status']['p50_ms']} / {sc['status']['p99_ms']} / "
                        f"{sc['status']['max_ms']} ms ({sc['status']['samples']} keys, "
                        f"{sc['status']['missing']} missing)"])]
        for name, w in (("all", ka["all_sessions"]), ("half", ka["half_sessions"])):
            lines.append(_row([f"keepalives/s, {w['renewing_sessions']} sessions renewing "
                               f"({name}), session TTL {sc['session_ttl']} s",
                               f"clients sent {w['client_keepalives_per_s']}/s, etcd received "
                               f"{w['etcd_keepalives_per_s']}/s"]))
        idle = ka["all_sessions"].get("idle_cpu_per_wall", {})
        if idle:
            lines.append(_row(["CPU per wall second while the locks are just held (renewals "
                               "only)", ", ".join(f"{k} {v}" for k, v in idle.items())]))
        lines += [_row(["expected client keepalives/s (sessions / (ttl/3))",
                        ka["expected_client_per_s"]]),
                  _row(["CloseSession of all sessions (frees every lock)",
                        f"{sc['close_all_seconds']} s"]), ""]
    g = res.get("guard")
    if g:
        lines += [f"## Guard (T3): one sequential caller, zero-latency OpenAI stand-in "
                  f"({g['rounds']} rounds x {g['calls_per_round']} calls each)", "",
                  _row(["path", "p50 ms", "p99 ms", "mean ms", "calls"]), _row(["---"] * 5)]
        for name in ("direct", "guarded"):
            lines.append(_row([name, g[name]["p50_ms"], g[name]["p99_ms"], g[name]["mean_ms"],
                               g[name]["n"]]))
        lines += [_row(["added by the guard", g["added_p50_ms"], g["added_p99_ms"], "", ""])]
        for name, f in g.get("floors", {}).items():  # etcd alone, one sequential client
            lines.append(_row([f"{name} lock+unlock, same caller (floor)", f["p50_ms"],
                               f["p99_ms"], f["mean_ms"], f["n"]]))
        lines.append("")
    cr = res.get("crash")
    if cr:
        lines += [f"## Crash: SIGKILLed holder (TTL {cr['ttl']} s), next waiter holds after", "",
                  _row(["run", *range(1, len(cr["handover_s"]) + 1), "max", "target"]),
                  _row(["---"] * (len(cr["handover_s"]) + 3)),
                  _row(["seconds", *cr["handover_s"], cr["max_s"], cr["target_s"]]), ""]
    wa = res.get("watch")
    if wa:
        lines += [f"## Watch: {wa['watchers']} watchers, lock events at {wa['rate']:g}/s "
                  f"for {wa['seconds']:g} s", "",
                  "spread: each watcher on its own prefix (the coordinator delivers the rate); "
                  "fanout: every watcher on every event (watchers x rate). Lag: GRANTED "
                  "events, from the grant's write to receipt; delivery: RELEASED events, from "
                  "when the coordinator saw the change to receipt. CPU: seconds per wall "
                  "second.",
                  "", _row(["scenario", "events/s written", "delivered / expected",
                            "delivered/s", "lag p50 ms", "lag p99 ms", "lag max ms",
                            "delivery p50 / p99 ms", "cut off", "CPU coord", "CPU etcd",
                            "CPU watchers"]),
                  _row(["---"] * 12)]
        for r in wa["results"]:
            cpu = r["cpu_per_wall"]
            watchers_cpu = cpu.get("watchers", "-")
            lines.append(_row([r["scenario"], r["load"]["events_per_s"],
                               f"{r['delivered']} / {r['expected_deliveries']}",
                               r["delivered_per_s"], r["lag_p50_ms"], r["lag_p99_ms"],
                               r["lag_max_ms"],
                               f"{r.get('delivery_p50_ms', '-')} / "
                               f"{r.get('delivery_p99_ms', '-')}",
                               sum(r["cut_off"].values()) or 0,
                               cpu.get("coordinator", "-"), cpu.get("etcd", "-"),
                               watchers_cpu]))
        lines.append("")
    phase = res.get("phase_cpu_per_wall") or {}
    if phase:
        names = sorted({k for v in phase.values() for k in v})
        lines += ["## CPU per phase (CPU seconds per wall second)", "",
                  _row(["phase", *names]), _row(["---"] * (len(names) + 1))]
        lines += [_row([p, *(v.get(k, "-") for k in names)]) for p, v in phase.items()]
        lines.append("")
    lines += ["## Targets", "", _row(["target", "measured", "result"]), _row(["---"] * 3)]
    for name, value, ok in targets(res):
        lines.append(_row([name, value, "n/a" if ok is None else ("PASS" if ok else "MISS")]))
    if res.get("profile"):
        lines += ["", f"Profile: {res['profile']}"]
    return "\n".join(lines) + "\n"


def chart(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    points = res["uncontended"]["points"]
    fig, ax = plt.subplots(figsize=(8.5, 4.5), dpi=110)
    for system in dict.fromkeys(p["system"] for p in points):
        xs = [p["clients"] for p in points if p["system"] == system]
        ys = [p["ops_per_s"] for p in points if p["system"] == system]
        ax.plot(xs, ys, marker="o", linewidth=2.5 if system.startswith("coord") else 1.5,
                label=system)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(sorted({p["clients"] for p in points}))
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_xlabel("concurrent clients (distinct keys)")
    ax.set_ylabel("lock+unlock pairs/s (log)")
    m = res["machine"]
    ax.set_title(f"Uncontended throughput, same etcd {m['etcd']} "
                 f"(fsync {'on' if m['etcd_fsync'] else 'off'}), {m['cores']} cores")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))  # clear of the lines
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write(res: dict[str, Any], out: Path) -> str:
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(res, indent=2) + "\n")
    md = markdown(res)
    (out / "latest.md").write_text(md)
    if res.get("uncontended"):
        chart(res, out / "throughput.png")
    return md


def main() -> int:
    """Re-render latest.md and throughput.png from a latest.json: python -m bench.report DIR"""
    import sys

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "results"
    res = json.loads((out / "latest.json").read_text())
    print(write(res, out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
