"""The fake OpenAI state alone, on a hand-moved clock: lifecycles change exactly at their
due times, and the busy rules hold until then (no HTTP, no waiting)."""

from __future__ import annotations

import pytest

from threadlock.fake_openai import Config, FakeState
from threadlock.fake_openai.errors import ApiError


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> FakeState:
    return FakeState(Config(response_seconds=1.0, run_seconds=2.0, cancel_seconds=0.5),
                     clock=clock, wall=lambda: 1_700_000_000.0)


def test_background_response_lifecycle_and_busy_window(state: FakeState, clock: Clock) -> None:
    store = state.conversations
    conv = store.create_conversation(None, {})["id"]
    rec = store.create_response(model="m", input="hi", conversation=conv, background=True,
                                metadata={})
    assert store.response_json(rec)["status"] == "queued"
    clock.t += 0.1
    assert store.response_json(store.get_response(rec.id))["status"] == "in_progress"
    assert state.next_due() == pytest.approx(1001.0)
    clock.t = 1000.999
    with pytest.raises(ApiError) as info:
        store.create_response(model="m", input="x", conversation=conv, background=False,
                              metadata={})
    assert (info.value.status, info.value.code) == (400, "conversation_locked")
    clock.t = 1001.0
    assert store.get_response(rec.id).final == "completed"
    assert [i["content"][0]["text"] for i in store.list_items(conv, order="asc")["data"]] \
        == ["hi", "echo: hi"]
    stats = state.stats()
    assert stats["conflicts"]["conversation_locked"] == 1
    assert stats["completed"]["responses"] == 1
    assert state.next_due() is None


def test_run_lifecycle_and_cancel(state: FakeState, clock: Clock) -> None:
    threads = state.threads
    thread = threads.create_thread([{"role": "user", "content": "q"}], {})["id"]
    run = threads.create_run(thread, assistant_id="a", model=None, instructions=None,
                             additional_messages=None, metadata={})
    statuses = []
    for t in (1000.0, 1000.06, 1001.9, 1002.0):
        clock.t = t
        statuses.append(threads.run_json(threads.get_run(thread, run.id))["status"])
    assert statuses == ["queued", "in_progress", "in_progress", "completed"]
    assert threads.list_messages(thread, order="asc")["data"][-1]["content"][0]["text"] \
        == {"value": "echo: q", "annotations": []}

    endless = threads.create_run(thread, assistant_id="a", model=None, instructions=None,
                                 additional_messages=None, metadata={"fake_seconds": "inf"})
    clock.t = 5000.0
    assert threads.run_json(endless)["status"] == "in_progress"
    threads.cancel_run(thread, endless.id)
    clock.t = 5000.49
    assert threads.run_json(threads.get_run(thread, endless.id))["status"] == "cancelling"
    with pytest.raises(ApiError, match="already has an active run"):
        threads.create_run(thread, assistant_id="a", model=None, instructions=None,
                           additional_messages=None, metadata={})
    clock.t = 5000.5
    assert threads.run_json(threads.get_run(thread, endless.id))["status"] == "cancelled"
    threads.add_message(thread, {"role": "user", "content": "free again"})
    assert state.stats()["cancelled"]["runs"] == 1
