"""bench/ must keep running: a tiny `bench/run.py --quick` end to end (real etcd, coordinator
subprocess, Redis if it can start) into a temporary directory. Asserts that every phase
produced its results and that correctness held (FIFO, crash handover); nothing about speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from threadlock.etcd import versions

pytestmark = pytest.mark.etcd

ROOT = Path(__file__).resolve().parent.parent


def test_quick_bench_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "results"
    cmd = [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--seconds", "0.4",
           "--warmup", "0.2", "--clients", "1,2", "--workers", "4", "--scale", "3x20",
           "--status-samples", "20", "--crash-repeats", "1", "--watchers", "4",
           "--watch-rate", "40", "--out", str(out)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=160, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for name in ("latest.json", "latest.md", "throughput.png"):
        assert (out / name).stat().st_size > 0, name
    res = json.loads((out / "latest.json").read_text())
    # bench runs on the etcd the tests use by default, and says which.
    current = versions.show(versions.CURRENT)
    assert res["machine"]["etcd"] == current and f"stack: etcd {current} at " in run.stdout
    assert "| target | measured | result |" in (out / "latest.md").read_text()

    unc = res["uncontended"]
    systems = {p["system"] for p in unc["points"]}
    assert {"coordinator", "coordinator-session", "sdk-unary", "sdk-stream", "etcd-v3lock",
            "etcd-raw"} <= systems
    assert "redis" in systems or unc["redis_skipped"]
    for p in unc["points"]:
        assert p["ops"] > 0 and p["errors"] == 0, p
    for n in (1, 2):
        for variant in ("coordinator", "coordinator-session", "sdk-unary", "sdk-stream"):
            [row] = [r for r in unc["ratios"] if (r["clients"], r["system"]) == (n, variant)]
            assert row["vs_etcd-raw"] > 0 and row["vs_etcd-v3lock"] > 0, row

    guard = res["guard"]  # T3: direct and guarded calls both ran
    assert guard["direct"]["n"] > 0 and guard["guarded"]["n"] == guard["direct"]["n"], guard
    for r in res["contended"]["results"]:
        assert r["grants"] > 0 and r["errors"] == 0, r
        assert r["overtakes"] == 0, r
        assert r["fencing_violations"] in (0, None), r

    scale = res["scale"]
    assert scale["granted"] == scale["locks"] == 60
    assert scale["status"]["missing"] == 0
    assert scale["keepalive"]["all_sessions"]["etcd_keepalives"] > 0

    for r in res["watch"]["results"]:  # every event written reached its watchers
        assert r["load"]["errors"] == 0 and r["load"]["cycles"] > 0, r
        assert r["delivered"] == r["expected_deliveries"] and not r["cut_off"], r
        assert r["lag_p50_ms"] > 0, r
    assert "## Watch: 4 watchers" in (out / "latest.md").read_text()

    crash = res["crash"]
    assert 0 < crash["max_s"] <= crash["ttl"] + 2.0, crash  # generous: a loaded CI machine
