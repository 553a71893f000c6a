"""`threadlock stress`: its analysis on hand-made events, and short real runs of the command
(worker processes, the embedded coordinator, the fake OpenAI) in guarded, unguarded and
fault-injection mode, as the issue's "done when" asks."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest

from threadlock.fake_openai import FakeOpenAI
from threadlock.local_etcd import EtcdServer
from threadlock.stress import report, worker
from threadlock.stress.report import Ask, Interval, Kill
from threadlock_client.errors import ConversationLocked


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
    # Worker 1 asked at 1.5, while 0 held the lock: it waited for the handover.
    ivs = [iv(0, 1.0, None, token=1), iv(1, 4.5, 5.0, token=2, requested=1.5)]
    kills = [Kill(0, 2.0, "conv_1")]
    closed = report.closed(ivs, kills)
    assert [(c.worker, c.end) for c in closed] == [(0, 2.0), (1, 5.0)]
    [hand] = report.handovers(closed, kills, [], ttl=2.0, limit=2.4, end=5.0)
    assert hand["seconds"] == pytest.approx(2.5) and hand["status"] == "slow"
    result = report.analyse(facts(elapsed=5.0, ttl=2.0, handover_slack=0.4), ivs, kills,
                            {0: 0, 1: 1}, {})
    # 2.5 s > TTL 2 + slack 0.4: a slow handover fails a guarded run.
    assert result["verdict"] == "fail" and "handover" in result["reasons"][0]
    assert result["overlaps"] == 0 and result["kills"]["holders"] == 1


def facts(**kw: Any) -> report.RunFacts:
    """RunFacts of a guarded run of 2 workers on conv_1 that met no conflict, with `kw`."""
    base: dict[str, Any] = {"mode": "guarded", "api": "responses", "workers": 2,
                            "planned": None, "elapsed": 10.0, "ttl": 2.0, "handover_slack": 1.0,
                            "fake": True, "conflicts_fake": 0, "max_concurrent": {"conv_1": 1},
                            "conflicts_seen": 0, "kills_asked": True}
    return report.RunFacts(**{**base, **kw})


def test_a_lock_that_never_comes_back_to_a_waiter_fails_the_run() -> None:
    # Worker 0 is killed holding conv_1 at t=1; worker 1 asked at 0.5 and never got it.
    ivs = [iv(0, 0.0, None, token=1)]
    kills = [Kill(0, 1.0, "conv_1")]
    waiter = [Ask(1, "conv_1", 0.5, None)]
    [hand] = report.handovers(ivs, kills, waiter, ttl=2.0, limit=3.0, end=10.0)
    assert hand == {"worker": 0, "key": "conv_1", "seconds": None, "status": "lost",
                    "in_flight": None}
    r = report.analyse(facts(), ivs, kills, {0: 1, 1: 0}, {}, waiter)
    assert r["verdict"] == "fail" and "never came back" in " ".join(r["reasons"]), r
    # The run ended before kill + limit: too soon to tell, no failure.
    [hand] = report.handovers(ivs, kills, waiter, ttl=2.0, limit=3.0, end=3.5)
    assert hand["status"] == "unknown"
    # Nobody asked: nothing to hand over to.
    [hand] = report.handovers(ivs, kills, [], ttl=2.0, limit=3.0, end=10.0)
    assert hand["status"] == "no waiter"
    assert report.analyse(facts(), ivs, kills, {0: 1, 1: 0}, {})["verdict"] == "pass"


def test_a_handover_to_a_worker_that_asked_after_the_ttl_is_not_judged() -> None:
    # Killed at 1 (lease gone by 3); a replacement asked only at 4 (its start-up) and got the
    # lock at 4.1: 3.1 s after the kill, but nobody waited, so it says nothing of the lock.
    ivs = [iv(0, 0.0, None, token=1), iv(2, 4.1, 4.5, token=2, requested=4.0)]
    kills = [Kill(0, 1.0, "conv_1")]
    [hand] = report.handovers(report.closed(ivs, kills), kills, [], ttl=2.0, limit=2.5,
                              end=10.0)
    assert hand["seconds"] == pytest.approx(3.1) and hand["status"] == "no waiter"
    # The same grant to a worker that asked at 2.5 (before kill + TTL) is a slow handover.
    ivs[1] = iv(2, 4.1, 4.5, token=2, requested=2.5)
    [hand] = report.handovers(report.closed(ivs, kills), kills, [], ttl=2.0, limit=2.5,
                              end=10.0)
    assert hand["status"] == "slow"


def test_a_hold_of_a_worker_that_died_on_its_own_ends_at_its_exit_and_can_overlap() -> None:
    # Worker 0 froze holding conv_1 from 1.0 and was seen to exit at 6.0 (no kill by the
    # driver); worker 1 was granted conv_1 at 4.0: both inside at once.
    ivs = [iv(0, 1.0, None, token=1), iv(1, 4.0, 5.0, token=2)]
    [c0, c1] = report.closed(ivs, [], {0: 6.0})
    assert (c0.worker, c0.end) == (0, 6.0) and c1.end == 5.0
    assert len(report.overlaps([c0, c1])) == 1
    # Without a recorded end it would be dropped, and the overlap lost.
    assert [c.worker for c in report.closed(ivs, [])] == [1]
    r = report.analyse(facts(), ivs, [], {0: 0, 1: 1}, {"worker_exit_-9": 1}, [], {0: 6.0})
    assert r["verdict"] == "fail" and r["overlaps"] == 1, r


@pytest.mark.parametrize(("errors", "allow_busy", "verdict"), [
    ({"LeaseLost": 1}, False, "fail"),
    ({"ConversationLocked": 2}, False, "fail"),
    ({"worker_exit_-9": 1}, False, "fail"),
    ({"worker_output": 1}, False, "fail"),
    ({"ThreadBusy": 17}, False, "fail"),
    ({"ThreadBusy": 17}, True, "pass"),
    ({"ThreadBusy": 1, "LeaseLost": 1}, True, "fail"),
])
def test_errors_fail_a_guarded_run(errors: dict[str, int], allow_busy: bool,
                                   verdict: str) -> None:
    ivs = [iv(0, 0.0, 1.0, token=1), iv(1, 1.0, 2.0, token=2)]
    r = report.analyse(facts(allow_busy=allow_busy), ivs, [], {0: 1, 1: 1}, errors)
    assert r["verdict"] == verdict, r
    if verdict == "fail":
        assert "errors" in r["reasons"][0], r


def test_a_stalled_run_fails_and_says_which_iterations_were_lost() -> None:
    ivs = [iv(0, 0.0, 1.0, token=1)]
    r = report.analyse(facts(planned=6, stalled=64.0, not_done={0: 0, 1: 3}), ivs, [],
                       {0: 3, 1: 0}, {})
    assert r["verdict"] == "fail" and r["stalled_s"] == 64.0, r
    [reason] = r["reasons"]
    assert "stalled" in reason and "slot 1: 3" in reason and "slot 0" not in reason, r


def test_waits_that_ran_out_count_in_the_percentiles() -> None:
    ivs = [iv(0, 0.1, 1.0, token=1, requested=0.0)]
    gave_up = [Ask(1, "conv_1", 0.0, 0.5, gave_up=True)]
    r = report.analyse(facts(allow_busy=True), ivs, [], {0: 1, 1: 0}, {"ThreadBusy": 1},
                       gave_up)
    assert r["wait_ms"]["max"] == pytest.approx(500.0) and r["wait_ms"]["gave_up"] == 1, r


def test_the_table_names_calls_for_unguarded_runs_and_shows_kills_only_when_asked() -> None:
    ivs = [iv(0, 0.0, 1.0), iv(1, 0.5, 1.5)]
    demo = report.table(report.analyse(facts(mode="unguarded", kills_asked=False), ivs, [],
                                       {0: 1, 1: 1}, {}))
    assert "calls/s" in demo and "acquisitions" not in demo and " held " not in demo, demo
    assert "called [" in demo and "kills" not in demo, demo
    guarded = report.table(report.analyse(facts(), [iv(0, 0.0, 1.0, token=1)], [],
                                          {0: 1, 1: 0}, {}))
    assert "acquisitions/s" in guarded and "kills" in guarded, guarded


def test_the_worker_counts_busy_answers_even_those_the_guard_retries() -> None:
    """Against a real OpenAI there is no fake to count conflicts: the worker's HTTP hook sees
    every busy 400, and the guard's ConversationLocked is a conflict too."""
    with FakeOpenAI.start_in_thread(response_seconds=30) as fake:
        for face in ("sync", "async"):
            busy = worker.BusyCounter()
            if face == "sync":
                client: Any = openai.OpenAI(
                    base_url=fake.base_url, api_key="t", max_retries=0,
                    http_client=openai.DefaultHttpxClient(event_hooks={"response": [busy.hook]}))
            else:
                client = openai.AsyncOpenAI(
                    base_url=fake.base_url, api_key="t", max_retries=0,
                    http_client=openai.DefaultAsyncHttpxClient(
                        event_hooks={"response": [busy.async_hook]}))

            conv = openai.OpenAI(base_url=fake.base_url, api_key="t").conversations.create().id
            refused = asyncio.run(_in_flight_then_another(client, conv))
            assert busy.take() == 1 and busy.take() == 0, face
            assert worker._kind(refused) == ("conversation_locked", True)
    assert worker._kind(ConversationLocked("conv_1", "busy")) == ("ConversationLocked", True)
    assert worker._kind(ValueError("x")) == ("ValueError", False)


async def _in_flight_then_another(client: Any, conv: str) -> BaseException:
    """A background response on `conv`, then another one: OpenAI's busy answer. One event
    loop for both calls, as the async client's connections belong to it."""
    async def create(**kw: Any) -> Any:
        result = client.responses.create(conversation=conv, model="m", **kw)
        return await result if inspect.isawaitable(result) else result

    await create(input="a", background=True)
    with pytest.raises(openai.BadRequestError) as caught:
        await create(input="b")
    return caught.value


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
def test_killed_holders_hand_over_within_ttl_and_slack_and_an_iterations_run_ends() -> None:
    # Iterations mode with kills: every slot must get through its count (replacements are
    # never killed before they finish an iteration), so the run ends on its own.
    # 9 calls of 0.6 s one after another outlast the first kill, due 4 s in.
    code, r = stress_json("--workers", "3", "--iterations", "3", "--call-seconds", "0.6",
                          "--ttl", "2", "--kill-every", "4", "--backend", "etcd",
                          "--seed", "7")
    assert code == 0, r
    assert r["iterations"]["done"] == 9 and r["iterations"]["failed"] == 0, r
    kills = r["kills"]
    assert kills["total"] >= 1 and kills["holders"] >= 1, r
    # Kills come at a moment inside a holder's call: its response is still in flight.
    assert kills["in_flight"] >= 1, r
    for h in kills["handovers_s"]:
        assert h["status"] in ("ok", "no waiter"), r
        assert h["status"] != "ok" or h["seconds"] <= 2 + 1.5, r
    assert r["conflicts"] == 0 and r["overlaps"] == 0 and r["token_violations"] == 0, r


@pytest.mark.timeout(180)
def test_a_holder_frozen_past_its_ttl_is_caught_overlapping_the_next(tmp_path: Path) -> None:
    """The overlap check must be able to fire: a holder is frozen (SIGSTOP) inside its call
    until its lease lapses and the other worker is granted the key, then SIGKILLed. Its hold
    ends when the driver sees it exit, after the other's grant: an overlap, and a failure."""
    events = tmp_path / "events.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "threadlock", "stress", "--workers", "2", "--iterations", "2",
         "--ttl", "2", "--call-seconds", "1", "--events", str(events), "--json", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = _event(events, proc, lambda e: e["ev"] == "acquired")
        frozen = first["worker"]
        pid = _event(events, proc, lambda e: e["ev"] == "ready" and e["worker"] == frozen)
        os.kill(pid["pid"], signal.SIGSTOP)
        _event(events, proc, lambda e: e["ev"] == "acquired" and e["worker"] != frozen)
        os.kill(pid["pid"], signal.SIGKILL)
        out, err = proc.communicate(timeout=150)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    r = json.loads(out)
    assert proc.returncode == 1, err
    assert r["overlaps"] >= 1 and r["errors"].get("worker_exit_-9") == 1, r
    assert r["overlap_examples"][0]["first"]["worker"] == frozen, r


@pytest.mark.etcd
def test_a_throwaway_etcd_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    code = ("import sys, time\n"
            "from pathlib import Path\n"
            "from threadlock.local_etcd import EtcdServer\n"
            "e = EtcdServer(Path(sys.argv[1]), die_with_parent=True)\n"
            "e.start()\n"
            "print(e.pid, flush=True)\n"
            "time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        pid = int(parent.stdout.readline())  # type: ignore[union-attr]
    finally:
        parent.kill()  # SIGKILL: no atexit, no cleanup of its own
        parent.wait()
    deadline = time.monotonic() + 30
    while _alive(pid):
        assert time.monotonic() < deadline, f"etcd {pid} outlived its parent"
        time.sleep(0.05)
    assert EtcdServer(tmp_path / "other").die_with_parent is False  # the default is unchanged


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it is dead)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize(("args", "option"), [
    (["--workers", "0"], "--workers"),
    (["--iterations", "3", "--duration", "5"], "--duration"),
    (["--ttl", "1"], "--ttl"),
    (["--kill-every", "4", "--ttl", "2", "--call-seconds", "1.5"], "--call-seconds"),
    (["--kill-every", "3", "--ttl", "2"], "--kill-every"),  # replacements could never finish
    (["--address", "nohost", "--workers", "2"], "--address"),
    (["--workers", "1.5"], "integer"),
    (["--workers", "257"], "--workers"),
    (["--workers", "2", "--threads", "3"], "--threads"),
    (["--seed", "1"], "--seed"),
    (["--handover-slack", "1"], "--handover-slack"),
    (["--events", "/nonexistent-dir/events.jsonl"], "--events"),
])
def test_a_bad_option_exits_2_naming_it(args: list[str], option: str) -> None:
    proc = stress(*args)
    assert proc.returncode == 2, proc.stderr
    assert option in proc.stderr, proc.stderr


def test_an_unreachable_openai_is_a_clean_error() -> None:
    proc = stress("--workers", "2", "--openai-base-url", "http://127.0.0.1:9/v1")
    assert proc.returncode == 1, proc.stderr
    assert "could not create" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


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


def _first_key(events: Path, proc: subprocess.Popen[str]) -> str:
    """The conversation of the first grant in the --events file (waits for it, bounded)."""
    return str(_event(events, proc, lambda e: e["ev"] == "acquired")["key"])


def _event(events: Path, proc: subprocess.Popen[str], match: Callable[[dict[str, Any]], bool],
           bound: float = 90.0) -> dict[str, Any]:
    """The first event in the --events file that `match`es (waits for it, bounded)."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the stress run ended before the awaited event"
        if events.exists():
            for line in events.read_text().splitlines():
                ev = json.loads(line) if line.endswith("}") else {}
                if ev and match(ev):
                    return ev
        time.sleep(0.05)
    raise AssertionError(f"no such event within {bound:g}s")
