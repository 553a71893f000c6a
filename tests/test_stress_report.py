"""`threadlock stress`: its analysis (report.py) on hand-made events, and the worker's count of
OpenAI's busy answers; the command itself is tested in test_stress_tool.py."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import openai
import pytest

from threadlock.fake_openai import FakeOpenAI
from threadlock.stress import report, worker
from threadlock.stress.report import Ask, Interval, Kill
from threadlock_client.errors import ConversationLocked


def iv(worker: int, start: float, end: float | None, token: int | None = None,
       key: str = "conv_1", requested: float | None = None) -> Interval:
    return Interval(worker, key, token, start if requested is None else requested, start, end)


def facts(**kw: Any) -> report.RunFacts:
    """RunFacts of a guarded run of 2 workers on conv_1 that met no conflict, with `kw`."""
    base: dict[str, Any] = {"mode": "guarded", "api": "responses", "workers": 2,
                            "planned": None, "elapsed": 10.0, "ttl": 2.0, "handover_slack": 1.0,
                            "fake": True, "conflicts_fake": 0, "max_concurrent": {"conv_1": 1},
                            "conflicts_seen": 0, "kills_asked": True}
    return report.RunFacts(**{**base, **kw})


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
