"""The issue's proof, with separate worker processes as in the seeds: 8 processes on one
conversation collide at OpenAI without the guard and never with it; 8 conversations run in
parallel; a holder killed mid-run hands over after its TTL without a conflict."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_openai_helpers import wait_stats
from guard_procs import (
    colliding_fake,
    new_target,
    run_workers,
    start_together,
    start_worker,
    worker_args,
)

from threadlock.fake_openai import FakeOpenAI

WORKER = Path(__file__).resolve().parent / "guard_worker.py"
# Worker processes are slow to start on 2 cores: run these against the production backend only
# (the SDK and the conformance suite cover the embedded one).
pytestmark = [pytest.mark.parametrize("served", ["etcd"], indirect=True),
              pytest.mark.timeout(400)]  # 16 worker processes per test on 2 shared cores


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with colliding_fake() as f:
        yield f


def _spawn(address: str, fake: FakeOpenAI, target: str, api: str, mode: str, face: str,
           iterations: int, barrier: bool = True, **extra: str) -> subprocess.Popen[str]:
    args = [sys.executable, str(WORKER), "--address", address, "--base-url", fake.base_url,
            "--target", target, "--api", api, "--mode", mode, "--face", face,
            "--iterations", str(iterations), *worker_args(extra, barrier)]
    return start_worker(args)


@pytest.mark.parametrize("api", ["responses", "assistants"])
@pytest.mark.parametrize("face", ["sync", "async"])
def test_eight_processes_on_one_target_collide_only_without_the_guard(
        served: str, fake: FakeOpenAI, api: str, face: str) -> None:
    for mode in ("unguarded", "guarded"):
        fake.reset()
        target = new_target(fake, api)
        results = start_together([_spawn(served, fake, target, api, mode, face, 3)
                                    for _ in range(8)])
        stats = fake.stats()
        if mode == "unguarded":  # the seeds' problem, reproduced
            assert stats["conflicts_total"] > 0, stats
        else:
            assert stats["conflicts_total"] == 0, stats
            assert sum(r["ok"] for r in results) == 24 and not any(r["errors"]
                                                                   for r in results)
            peak = stats["max_concurrent"]["conversations" if api == "responses" else "threads"]
            assert peak[target] == 1, peak  # never two operations at once on the target


@pytest.mark.parametrize("face", ["sync", "async"])
def test_eight_conversations_proceed_in_parallel(served: str, fake: FakeOpenAI,
                                                 face: str) -> None:
    fake.configure(response_seconds=2.0)
    targets = [new_target(fake, "responses") for _ in range(8)]
    results = start_together([_spawn(served, fake, t, "responses", "guarded", face, 1)
                               for t in targets])
    assert all(r["ok"] == 1 for r in results), results
    calls = [r["calls"][0] for r in results]
    # All eight were in flight at one moment: no lock made one wait for another.
    assert max(start for start, _ in calls) < min(end for _, end in calls), calls
    wall = max(end for _, end in calls) - min(start for start, _ in calls)
    print(f"8 conversations x one 2.0 s call: wall {wall:.2f} s (serial would be 16 s)")


@pytest.mark.parametrize("face", ["sync", "async"])
def test_a_holder_killed_mid_run_hands_over_after_its_ttl(served: str, fake: FakeOpenAI,
                                                          face: str) -> None:
    thread = new_target(fake, "assistants")
    # The first worker starts a run that never ends by itself, and dies holding the lock.
    first = _spawn(served, fake, thread, "assistants", "guarded", face, 1, barrier=False,
                   ttl="2", fake_seconds="inf")
    wait_stats(fake, lambda s: any(r.startswith(thread) for r in s["active"]["runs"]))
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    killed_at = time.time()
    # The next worker waits for the lock (TTL), finds the orphaned run, cancels it (its age is
    # over orphan_run_age = 1 s), and then runs its own: no conflict at OpenAI.
    [second] = run_workers([_spawn(served, fake, thread, "assistants", "guarded", face, 1,
                                    barrier=False)])
    assert second["ok"] == 1, second
    started, _ = second["calls"][0]
    stats = fake.stats()
    assert stats["cancelled"]["runs"] == 1 and stats["conflicts_total"] == 0, stats
    assert second["calls"][0][1] >= killed_at  # it finished after the holder died
    print(f"killed holder: next run done {second['calls'][0][1] - killed_at:.2f} s after the "
          f"kill (TTL 2 s); started waiting at +{started - killed_at:.2f} s")
