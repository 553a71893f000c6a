"""`threadlock stress`: short real runs of the command (worker processes, the embedded
coordinator, the fake OpenAI) in guarded, unguarded and fault-injection mode, as the issue's
"done when" asks; its analysis on hand-made events is in test_stress_report.py."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from threadlock.fake_openai import FakeOpenAI
from threadlock.local_etcd import EtcdServer

# --- the command ------------------------------------------------------------------------------

def stress(*args: str, env: dict[str, str] | None = None,
           timeout: float = 150) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "threadlock", "stress", *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@contextlib.contextmanager
def started(*args: str) -> Iterator[subprocess.Popen[str]]:
    """`threadlock stress` in the background, for a test that acts on it meanwhile; killed if
    the test leaves it running."""
    proc = subprocess.Popen([sys.executable, "-m", "threadlock", "stress", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


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
    with started("--workers", "2", "--iterations", "2", "--ttl", "2", "--call-seconds", "1",
                 "--events", str(events), "--json", "--quiet") as proc:
        first = _event(events, proc, lambda e: e["ev"] == "acquired")
        frozen = first["worker"]
        pid = _event(events, proc, lambda e: e["ev"] == "ready" and e["worker"] == frozen)
        os.kill(pid["pid"], signal.SIGSTOP)
        _event(events, proc, lambda e: e["ev"] == "acquired" and e["worker"] != frozen)
        os.kill(pid["pid"], signal.SIGKILL)
        out, err = proc.communicate(timeout=150)
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
    with FakeOpenAI.start_in_thread(response_seconds=0.3) as fake, started(
            "--workers", "2", "--duration", "5", "--openai-base-url", fake.base_url,
            "--events", str(events), "--json") as proc:
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
