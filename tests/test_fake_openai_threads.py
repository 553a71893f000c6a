"""The fake OpenAI server's Assistants API (threads, messages, runs), driven by the real
`openai` package (whose beta.threads calls warn DeprecationWarning, filtered here)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from fake_openai_helpers import BOUND, requests
from openai import AssistantEventHandler, AsyncOpenAI, OpenAI
from openai.types.beta.threads import Text, TextDelta

from threadlock.fake_openai import FakeOpenAI

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
INF = {"fake_seconds": "inf"}
ACTIVE = {"queued", "in_progress", "requires_action", "cancelling"}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI.start_in_thread(run_seconds=0.05) as fake:
        yield fake


@pytest.fixture
def fake(server: FakeOpenAI) -> FakeOpenAI:
    server.reset()
    server.configure(run_seconds=0.05, cancel_seconds=0.05)
    return server


@pytest.fixture
def client(fake: FakeOpenAI) -> Iterator[OpenAI]:
    with OpenAI(base_url=fake.base_url, api_key="test") as c:
        yield c


def texts(client: OpenAI, thread_id: str) -> list[tuple[str, str]]:
    out = []
    for message in client.beta.threads.messages.list(thread_id=thread_id, order="asc"):
        data: dict[str, Any] = message.to_dict()
        out.append((data["role"], data["content"][0]["text"]["value"]))
    return out


def test_second_run_and_message_during_a_run_get_openais_errors(fake: FakeOpenAI,
                                                               client: OpenAI) -> None:
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1",
                                          metadata=INF)
    assert run.status == "queued"
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1")
    assert info.value.status_code == 400
    assert info.value.body == {
        "message": f"Thread {thread.id} already has an active run {run.id}.",
        "type": "invalid_request_error", "param": None, "code": None}
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.threads.messages.create(thread_id=thread.id, role="user", content="x")
    body: Any = info.value.body
    assert body["message"] == f"Can't add messages to {thread.id} while a run {run.id} is active."
    assert info.value.response.headers["x-should-retry"] == "false"

    stats = fake.stats()
    assert stats["conflicts"] == {"conversation_locked": 0, "thread_active_run": 1,
                                  "message_during_run": 1}
    assert stats["conflicts_total"] == 2
    assert stats["max_concurrent"]["threads"] == {thread.id: 2}
    assert stats["active"]["runs"] == [f"{thread.id}/{run.id}"]
    assert requests(fake, "POST /v1/threads/{thread_id}/runs") == 2  # no retries
    assert requests(fake, "POST /v1/threads/{thread_id}/messages") == 1


def test_run_cancel_lifecycle_frees_the_thread(fake: FakeOpenAI, client: OpenAI) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id="a", metadata=INF)
    assert {r.status for r in client.beta.threads.runs.list(thread_id=thread.id)} <= ACTIVE
    cancelling = client.beta.threads.runs.cancel(thread_id=thread.id, run_id=run.id)
    assert cancelling.status == "cancelling"
    # Still active while cancelling.
    with pytest.raises(openai.BadRequestError, match="already has an active run"):
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id="a")
    done = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert done.status == "cancelled" and done.cancelled_at is not None
    with pytest.raises(openai.BadRequestError, match="Cannot cancel run with status"):
        client.beta.threads.runs.cancel(thread_id=thread.id, run_id=run.id)
    assert texts(client, thread.id) == [("user", "hi")]  # a cancelled run adds nothing
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content="again")
    assert fake.stats()["cancelled"]["runs"] == 1


def test_create_and_poll_completes_and_appends_the_reply(fake: FakeOpenAI,
                                                         client: OpenAI) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hello"}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id="a", additional_messages=[
            {"role": "user", "content": [{"type": "text", "text": "and more"},
                                         {"type": "image_url",
                                          "image_url": {"url": "https://x/y.png"}}]}])
    assert run.status == "completed" and run.completed_at is not None
    assert texts(client, thread.id) == [("user", "hello"), ("user", "and more"),
                                        ("assistant", "echo: and more")]
    listed = [r.status for r in client.beta.threads.runs.list(thread_id=thread.id)]
    assert listed == ["completed"]
    assert fake.stats()["completed"]["runs"] == 1


def test_runs_list_shows_the_active_run_until_it_completes(client: OpenAI) -> None:
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id="a",
                                          metadata={"fake_seconds": "0.3"})
    seen = set()
    deadline = time.monotonic() + BOUND
    while True:
        (listed,) = client.beta.threads.runs.list(thread_id=thread.id).data
        assert listed.id == run.id
        seen.add(listed.status)
        if listed.status == "completed":
            break
        assert listed.status in ACTIVE
        assert time.monotonic() < deadline
    assert "completed" in seen


def test_run_stream_parses_with_the_event_handler(client: OpenAI) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "stream this"}])
    deltas: list[str] = []
    done_texts: list[str] = []

    class Handler(AssistantEventHandler):
        def on_text_delta(self, delta: TextDelta, snapshot: Text) -> None:
            deltas.append(delta.value or "")

        def on_text_done(self, text: Text) -> None:
            done_texts.append(text.value)

    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id="a",
                                         event_handler=Handler()) as stream:
        stream.until_done()
        run = stream.get_final_run()
        (message,) = stream.get_final_messages()
    assert run.status == "completed"
    assert "".join(deltas) == "echo: stream this"
    assert done_texts == ["echo: stream this"]
    assert message.content[0].type == "text"
    assert texts(client, thread.id)[-1] == ("assistant", "echo: stream this")


def test_raw_run_stream_event_sequence(client: OpenAI) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "one two"}])
    stream = client.beta.threads.runs.create(thread_id=thread.id, assistant_id="a",
                                             stream=True)
    kinds = [event.event for event in stream]
    assert kinds == ["thread.run.created", "thread.run.queued", "thread.run.in_progress",
                     "thread.message.created", "thread.message.in_progress",
                     *["thread.message.delta"] * 3, "thread.message.completed",
                     "thread.run.completed"]


def test_create_thread_and_run_and_files_in_messages(client: OpenAI) -> None:
    uploaded = client.files.create(file=("a.png", b"\x89PNG"), purpose="vision")
    run = client.beta.threads.create_and_run_poll(assistant_id="a", thread={"messages": [
        {"role": "user", "content": [{"type": "text", "text": "look"},
                                     {"type": "image_file",
                                      "image_file": {"file_id": uploaded.id}}],
         "attachments": [{"file_id": uploaded.id, "tools": [{"type": "file_search"}]}]}]})
    assert run.status == "completed"
    assert texts(client, run.thread_id)[-1] == ("assistant", "echo: look")


def test_outcomes_failed_and_requires_action(client: OpenAI) -> None:
    thread = client.beta.threads.create()
    failed = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id="a", metadata={"fake_outcome": "failed"})
    assert failed.status == "failed" and failed.last_error is not None
    waiting = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id="a", metadata={"fake_outcome": "requires_action"})
    assert waiting.status == "requires_action" and waiting.required_action is not None
    with pytest.raises(openai.BadRequestError, match="already has an active run"):
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id="a")


def test_messages_pagination(client: OpenAI) -> None:
    thread = client.beta.threads.create()
    ids = [client.beta.threads.messages.create(thread_id=thread.id, role="user",
                                               content=str(i)).id for i in range(5)]
    first = client.beta.threads.messages.list(thread_id=thread.id, order="asc", limit=2)
    assert [m.id for m in first.data] == ids[:2] and first.has_more
    # Iterating pages on through `after`.
    every = [m.id for m in client.beta.threads.messages.list(thread_id=thread.id,
                                                             order="asc", limit=2)]
    assert every == ids
    newest = client.beta.threads.messages.list(thread_id=thread.id, limit=1)
    assert [m.id for m in newest.data] == [ids[-1]]


@pytest.mark.parametrize(("call", "param"), [
    (lambda c, t: c.beta.threads.runs.create(thread_id=t, assistant_id=""), "assistant_id"),
    (lambda c, t: c.beta.threads.messages.create(thread_id=t, role="robot", content="x"),
     "role"),
    (lambda c, t: c.beta.threads.messages.create(thread_id=t, role="user", content=[]),
     "content"),
    (lambda c, t: c.beta.threads.runs.create(thread_id=t, assistant_id="a",
                                             metadata={"fake_seconds": "-1"}),
     "metadata.fake_seconds"),
])
def test_bad_input_names_the_param(client: OpenAI, call: Any, param: str) -> None:
    thread = client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as info:
        call(client, thread.id)
    assert info.value.param == param


def test_unknown_thread_and_run_get_404(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="thread_nope"):
        client.beta.threads.retrieve("thread_nope")
    thread = client.beta.threads.create()
    with pytest.raises(openai.NotFoundError, match="run_nope"):
        client.beta.threads.runs.retrieve("run_nope", thread_id=thread.id)
    assert client.beta.threads.delete(thread.id).deleted


async def test_async_client_conflict_and_poll(fake: FakeOpenAI) -> None:
    async with AsyncOpenAI(base_url=fake.base_url, api_key="test") as client:
        thread = await client.beta.threads.create()
        run = await client.beta.threads.runs.create(thread_id=thread.id, assistant_id="a",
                                                    metadata={"fake_seconds": "inf"})
        with pytest.raises(openai.BadRequestError, match="already has an active run"):
            await client.beta.threads.runs.create(thread_id=thread.id, assistant_id="a")
        await client.beta.threads.runs.cancel(run_id=run.id, thread_id=thread.id)
        cancelled = await client.beta.threads.runs.poll(run.id, thread_id=thread.id)
        assert cancelled.status == "cancelled"
        final = await client.beta.threads.runs.create_and_poll(thread_id=thread.id,
                                                               assistant_id="a")
        assert final.status == "completed"
    assert fake.stats()["conflicts"]["thread_active_run"] == 1
