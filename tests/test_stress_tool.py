"""`threadlock stress`: its analysis on hand-made events, and short real runs of the command
(worker processes, the embedded coordinator, the fake OpenAI) in guarded, unguarded and
fault-injection mode, as the issue's "done when" asks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from threadlock.fake_openai import FakeOpenAI
from threadlock.stress import report
from threadlock.stress.report import Interval, Kill


def iv(worker: int, start: float, end: float | None, token: int | None = None,
       key: str = "conv_1", requested: float | None = None) -> Interval:
    return Interval(worker, key, token, start if requested is None else requested, start, end)


# --- analysis ---------------------------------------------------------------------------------

def test_an_overlap_on_one_key_is_found_and_other_keys_do_not_count() -> None:
    ivs = [iv(0, 0.0, 1.0), iv(1, 1.0, 2.0), iv(2, 1.5, 1.8), iv(3, 1.2, 3.0, key="conv_2")]
    found = report.overlaps(ivs)
    assert [(a.worker, b.worker) for a, b in found] == [(1, 2)]
    # Touching intervals (one ends as the next starts) are a clean handover, not an overlap.
    assert report.overlaps([iv(0, 0.0, 1.0), iv(1, 1.0, 2.0)]) == []


def test_an_interval_inside_a_long_one_is_caught_even_after_a_short_one() -> None:
    # 0 holds [0, 10]; 1 [1, 2] and 2 [3, 4] both overlap it, though not each other.
    found = report.overlaps([iv(0, 0, 10), iv(1, 1, 2), iv(2, 3, 4)])
    assert sorted(b.worker for _, b in found) == [1, 2]


def test_tokens_must_strictly_increase_in_grant_order() -> None:
    good = [iv(0, 0, 1, token=5), iv(1, 1, 2, token=6), iv(0, 2, 3, token=9)]
    assert report.token_violations(good) == []
    dup = [iv(0, 0, 1, token=5), iv(1, 1, 2, token=5)]
    back = [iv(0, 0, 1, token=5), iv(1, 1, 2, token=7), iv(2, 2, 3, token=6)]
    assert len(report.token_violations(dup)) == 1
    [(prev, nxt)] = report.token_violations(back)
    assert (prev.token, nxt.token) == (7, 6)
    # Unguarded calls have no token: nothing to check.
    assert report.token_violations([iv(0, 0, 1), iv(1, 1, 2)]) == []


def test_percentiles_and_fairness() -> None:
    values = [float(v) for v in range(1, 101)]
    assert report.percentile(values, 50) == pytest.approx(50.5)
    assert report.percentile(values, 99) == pytest.approx(99.01)
    assert report.percentile([3.0], 95) == 3.0
    assert report.percentile([], 50) is None
    assert report.jain([10, 10, 10]) == pytest.approx(1.0)
    assert report.jain([30, 0, 0]) == pytest.approx(1 / 3)
    assert report.jain([0, 0]) is None


def test_a_killed_holder_ends_at_its_kill_and_its_handover_is_measured() -> None:
    ivs = [iv(0, 1.0, None, token=1), iv(1, 4.5, 5.0, token=2)]
    kills = [Kill(0, 2.0, "conv_1")]
    closed = report.closed(ivs, kills)
    assert [(c.worker, c.end) for c in closed] == [(0, 2.0), (1, 5.0)]
    [hand] = report.handovers(closed, kills)
    assert hand["seconds"] == pytest.approx(2.5)
    facts = report.RunFacts(mode="guarded", api="responses", workers=2, planned=None,
                            elapsed=5.0, ttl=2.0, handover_slack=0.4, fake=True,
                            conflicts_fake=0, max_concurrent={"conv_1": 1}, conflicts_seen=0)
    result = report.analyse(facts, ivs, kills, {0: 0, 1: 1}, {})
    # 2.5 s > TTL 2 + slack 0.4: a slow handover fails a guarded run.
    assert result["verdict"] == "fail" and "handover" in result["reasons"][0]
    assert result["overlaps"] == 0 and result["kills"]["holders"] == 1


def test_analysis_fails_a_guarded_run_with_conflicts_and_demos_an_unguarded_one() -> None:
    ivs = [iv(0, 0.0, 1.0, token=1, requested=0.0), iv(1, 0.5, 1.5, token=2, requested=0.1)]
    kw: dict[str, Any] = {"api": "responses", "workers": 2, "planned": 2, "elapsed": 2.0,
                          "ttl": 10.0, "handover_slack": 1.5, "fake": True,
                          "max_concurrent": {"conv_1": 2}, "conflicts_seen": 0}
    guarded = report.analyse(report.RunFacts(mode="guarded", conflicts_fake=1, **kw), ivs, [],
                             {0: 1, 1: 1}, {})
    assert guarded["verdict"] == "fail" and guarded["overlaps"] == 1
    assert guarded["wait_ms"]["max"] == pytest.approx(400.0)
    assert "FAIL" in report.table(guarded)
    demo = report.analyse(report.RunFacts(mode="unguarded", conflicts_fake=3, **kw), ivs, [],
                          {0: 1, 1: 0}, {"conversation_locked": 3})
    assert demo["verdict"] == "demo" and demo["errors"] == {"conversation_locked": 3}
    assert "unguarded showed 3 OpenAI conflicts" in report.table(demo)


# --- the command ------------------------------------------------------------------------------

def stress(*args: str, env: dict[str, str] | None = None,
           timeout: float = 150) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "threadlock", "stress", *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def stress_json(*args: str) -> tuple[int, dict[str, Any]]:
    proc = stress(*args, "--json")
    try:
        return proc.returncode, json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"no JSON report (exit {proc.returncode}):\n{proc.stdout}\n"
                             f"{proc.stderr}") from None


@pytest.mark.timeout(180)
@pytest.mark.parametrize(("api", "face"), [("responses", "sync"), ("assistants", "async")])
def test_guarded_workers_never_collide(api: str, face: str) -> None:
    code, r = stress_json("--workers", "3", "--iterations", "3", "--api", api, "--face", face)
    assert code == 0, r
    assert r["iterations"]["done"] == 9 and r["iterations"]["failed"] == 0, r
    assert r["conflicts"] == 0 and r["conflicts_source"] == "fake OpenAI", r
    assert r["overlaps"] == 0 and r["token_violations"] == 0, r
    assert list(r["max_concurrent"].values()) == [1], r
    assert r["fairness"]["per_worker"] == [3, 3, 3], r
    assert r["wait_ms"]["max"] is not None and r["acquisitions_per_s"] > 0, r


@pytest.mark.timeout(180)
def test_unguarded_workers_collide_as_in_the_seed() -> None:
    # The workers are released together (stdin barrier, after warming their connections) and
    # a failed call is retried at once, while a 0.5 s call is in flight: two requests meet.
    code, r = stress_json("--workers", "3", "--iterations", "3", "--mode", "unguarded",
                          "--call-seconds", "0.5")
    assert code == 0, r  # a demonstration, not a failure
    assert r["verdict"] == "demo" and r["conflicts"] > 0 and r["overlaps"] > 0, r
    assert r["errors"].get("conversation_locked", 0) > 0, r
    assert max(r["max_concurrent"].values()) >= 2, r


@pytest.mark.etcd
@pytest.mark.timeout(180)
def test_killed_holders_hand_over_within_the_ttl_without_a_conflict() -> None:
    code, r = stress_json("--workers", "3", "--duration", "6", "--ttl", "2",
                          "--kill-every", "2.5", "--backend", "etcd", "--seed", "7")
    assert code == 0, r
    kills = r["kills"]
    assert kills["total"] >= 1 and kills["holders"] >= 1, r
    handovers = [h["seconds"] for h in kills["handovers_s"]]
    assert all(s is not None and s <= 2 + 1.5 for s in handovers), r
    assert r["conflicts"] == 0 and r["overlaps"] == 0 and r["token_violations"] == 0, r
    assert r["iterations"]["done"] > 0, r


@pytest.mark.parametrize(("args", "option"), [
    (["--workers", "0"], "--workers"),
    (["--iterations", "3", "--duration", "5"], "--duration"),
    (["--ttl", "1"], "--ttl"),
    (["--kill-every", "2", "--ttl", "2", "--call-seconds", "1.5"], "--call-seconds"),
    (["--address", "nohost", "--workers", "2"], "--address"),
])
def test_a_bad_option_exits_2_naming_it(args: list[str], option: str) -> None:
    proc = stress(*args)
    assert proc.returncode == 2, proc.stderr
    assert option in proc.stderr, proc.stderr


def test_the_coordinator_does_not_need_the_stress_dependencies(tmp_path: Path) -> None:
    code = ("import sys, threadlock.cli\n"
            "bad = [m for m in ('openai', 'aiohttp', 'threadlock_client') if m in sys.modules]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    # Without openai, `threadlock stress` says what to install (and exits 1).
    (tmp_path / "openai").mkdir()
    (tmp_path / "openai" / "__init__.py").write_text("raise ImportError('no openai here')\n")
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    proc = stress("--workers", "2", env={"PYTHONPATH": path})
    assert proc.returncode == 1, proc.stderr
    assert "pip install './clients/python[openai]' '.[stress]'" in proc.stderr


@pytest.mark.timeout(180)
def test_a_writer_that_bypasses_the_lock_fails_a_guarded_run(tmp_path: Path) -> None:
    """The exit status is the proof: a guarded run that meets a conflict exits 1. Here an
    outside writer (no lock) sends a response on the workers' conversation mid-run, against
    a fake OpenAI of the test's own (--openai-base-url)."""
    events = tmp_path / "events.jsonl"
    with FakeOpenAI.start_in_thread(response_seconds=0.3) as fake:
        proc = subprocess.Popen(
            [sys.executable, "-m", "threadlock", "stress", "--workers", "2", "--duration", "5",
             "--openai-base-url", fake.base_url, "--events", str(events), "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            key = _first_key(events, proc)
            rogue = openai.OpenAI(base_url=fake.base_url, api_key="test", max_retries=0)
            for _ in range(20):  # until it gets in, or its own refusals are the conflict
                try:
                    rogue.responses.create(conversation=key, model="m", input="rogue",
                                           metadata={"fake_seconds": "1"})
                    break
                except openai.BadRequestError:
                    continue
            out, err = proc.communicate(timeout=150)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    r = json.loads(out)
    assert proc.returncode == 1, err
    assert r["verdict"] == "fail" and r["conflicts"] > 0, r
    assert "OpenAI conflicts" in r["reasons"][0], r


def _first_key(events: Path, proc: subprocess.Popen[str], bound: float = 90.0) -> str:
    """The conversation of the first grant in the --events file (waits for it, bounded)."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the stress run ended before a lock was granted"
        if events.exists():
            for line in events.read_text().splitlines():
                ev = json.loads(line) if line.endswith("}") else {}
                if ev.get("ev") == "acquired":
                    return str(ev["key"])
        time.sleep(0.05)
    raise AssertionError(f"no grant within {bound:g}s")
