"""The fake OpenAI server, driven by the real `openai` package: conversations and responses
(sync, background, streamed), the conversation_locked rule, stats, control routes, the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from fake_openai_helpers import BOUND, await_stats, item_texts, requests, wait_stats
from openai import AsyncOpenAI, OpenAI

from threadlock.fake_openai import FakeOpenAI, configure_at, errors, reset_at, stats_at
from threadlock.fake_openai.errors import CONVERSATION_LOCKED

LOCKED_BODY = {"message": CONVERSATION_LOCKED, "type": "invalid_request_error",
               "param": "conversation", "code": "conversation_locked"}
INF = {"fake_seconds": "inf"}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI.start_in_thread(response_seconds=0.05, run_seconds=0.05) as fake:
        yield fake


@pytest.fixture
def fake(server: FakeOpenAI) -> FakeOpenAI:
    server.reset()
    server.configure(response_seconds=0.05, run_seconds=0.05)
    return server


@pytest.fixture
def client(fake: FakeOpenAI) -> Iterator[OpenAI]:
    with OpenAI(base_url=fake.base_url, api_key="test") as c:
        yield c


def test_conversation_locked_while_a_background_response_runs(fake: FakeOpenAI,
                                                              client: OpenAI) -> None:
    conv = client.conversations.create()
    first = client.responses.create(model="m", input="one", conversation=conv.id,
                                    background=True, metadata=INF)
    assert first.status == "queued"
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(model="m", input="two", conversation=conv.id)
    assert info.value.status_code == 400
    assert info.value.body == LOCKED_BODY
    assert info.value.response.headers["x-should-retry"] == "false"
    with pytest.raises(openai.BadRequestError) as info:
        client.conversations.items.create(conv.id, items=[{"role": "user", "content": "x"}])
    assert info.value.code == "conversation_locked"

    stats = fake.stats()
    assert stats["conflicts"] == {"conversation_locked": 2, "thread_active_run": 0,
                                  "message_during_run": 0}
    assert stats["conflicts_total"] == 2
    assert stats["max_concurrent"]["conversations"] == {conv.id: 2}
    assert stats["active"]["responses"] == [first.id]
    # The client did not retry the 400s: each request reached the fake once.
    assert requests(fake, "POST /v1/responses") == 2
    assert requests(fake, "POST /v1/conversations/{conversation_id}/items") == 1

    assert client.responses.cancel(first.id).status == "cancelled"
    third = client.responses.create(model="m", input="three", conversation=conv.id)
    assert third.status == "completed"
    assert item_texts(client.conversations.items.list(conv.id, order="asc")) == [
        ("user", "three"), ("assistant", "echo: three")]  # the cancelled response added nothing


async def test_sync_request_holds_its_conversation(fake: FakeOpenAI) -> None:
    async with AsyncOpenAI(base_url=fake.base_url, api_key="test") as client:
        conv = await client.conversations.create()
        first = asyncio.create_task(client.responses.create(
            model="m", input="slow", conversation=conv.id, metadata=INF))
        stats = await await_stats(fake, lambda s: len(s["active"]["responses"]) == 1)
        with pytest.raises(openai.BadRequestError) as info:
            await client.responses.create(model="m", input="racer", conversation=conv.id)
        assert info.value.body == LOCKED_BODY
        assert not first.done()
        (first_id,) = stats["active"]["responses"]
        await client.responses.cancel(first_id)
        answer = await asyncio.wait_for(first, BOUND)
        assert (answer.id, answer.status) == (first_id, "cancelled")
        after = await client.responses.create(model="m", input="next", conversation=conv.id)
        assert after.output_text == "echo: next"
    assert fake.stats()["conflicts"]["conversation_locked"] == 1


def test_sequential_requests_succeed_and_items_keep_order(fake: FakeOpenAI,
                                                          client: OpenAI) -> None:
    conv = client.conversations.create(items=[{"role": "user", "content": "seed"}])
    for word in ("a", "b", "c"):
        response = client.responses.create(model="m", input=word, conversation={"id": conv.id})
        assert response.status == "completed"
        assert response.output_text == f"echo: {word}"
        assert response.conversation is not None and response.conversation.id == conv.id
    items = list(client.conversations.items.list(conv.id, order="asc"))
    assert item_texts(items) == [("user", "seed"), ("user", "a"), ("assistant", "echo: a"),
                           ("user", "b"), ("assistant", "echo: b"),
                           ("user", "c"), ("assistant", "echo: c")]
    newest = client.conversations.items.list(conv.id, limit=2)  # default order: desc
    assert [i.id for i in newest.data] == [items[-1].id, items[-2].id]
    assert newest.has_more
    stats = fake.stats()
    assert stats["conflicts_total"] == 0
    assert stats["completed"]["responses"] == 3
    assert stats["max_concurrent"]["conversations"] == {conv.id: 1}


def test_background_response_is_polled_to_completion(fake: FakeOpenAI, client: OpenAI) -> None:
    conv = client.conversations.create()
    message: Any = {"role": "user", "content": [{"type": "input_text", "text": "hello"},
                                                {"type": "input_image", "image_url": "data:,x"}]}
    response = client.responses.create(model="m", input=[message],
        conversation=conv.id, background=True, metadata={"fake_seconds": "0.3"})
    seen = {response.status}
    deadline = time.monotonic() + BOUND
    while response.status != "completed":
        assert time.monotonic() < deadline, f"still {response.status}"
        raw = client.responses.with_raw_response.retrieve(response.id)
        assert raw.headers["openai-poll-after-ms"] == "50"
        response = raw.parse()
        seen.add(response.status)
    assert seen <= {"queued", "in_progress", "completed"} and "completed" in seen
    assert response.output_text == "echo: hello"
    assert response.usage is not None and response.completed_at is not None
    assert fake.stats()["completed"]["responses"] == 1


def test_stream_parses_and_holds_the_conversation_until_it_ends(fake: FakeOpenAI,
                                                                 client: OpenAI) -> None:
    conv = client.conversations.create()
    # An endless stream: the conversation stays busy until it is cancelled.
    with client.responses.create(model="m", input="never", conversation=conv.id, stream=True,
                                 metadata=INF) as stream:
        pending = iter(stream)
        created = next(pending)
        assert created.type == "response.created"
        with pytest.raises(openai.BadRequestError) as info:
            client.responses.create(model="m", input="racer", conversation=conv.id)
        assert info.value.body == LOCKED_BODY
        client.responses.cancel(created.response.id)
        rest = list(pending)
    assert rest[-1].type == "response.incomplete"
    assert rest[-1].response.status == "cancelled"

    with client.responses.create(model="m", input="stream me please", conversation=conv.id,
                                 stream=True) as stream:
        events = list(stream)
    kinds = [e.type for e in events]
    assert kinds == ["response.created", "response.in_progress", "response.output_item.added",
                     "response.content_part.added", *["response.output_text.delta"] * 4,
                     "response.output_text.done", "response.content_part.done",
                     "response.output_item.done", "response.completed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "echo: stream me please"
    final = events[-1]
    assert final.type == "response.completed" and final.response.output_text == deltas
    # The stream has ended: the conversation is free again.
    assert client.responses.create(model="m", input="after", conversation=conv.id).status \
        == "completed"
    assert fake.stats()["conflicts"]["conversation_locked"] == 1


async def test_async_stream_helper(fake: FakeOpenAI) -> None:
    async with AsyncOpenAI(base_url=fake.base_url, api_key="test") as client:
        conv = await client.conversations.create()
        text = ""
        async with client.responses.stream(model="m", input="via helper",
                                           conversation=conv.id) as stream:
            async for event in stream:
                if event.type == "response.output_text.delta":
                    text = event.snapshot
            final = await stream.get_final_response()
        assert text == final.output_text == "echo: via helper"
        items = await client.conversations.items.list(conv.id, order="asc")
        assert item_texts(items.data) == [("user", "via helper"),
                                          ("assistant", "echo: via helper")]


def test_failed_and_incomplete_outcomes(client: OpenAI) -> None:
    failed = client.responses.create(model="m", input="x",
                                     metadata={"fake_outcome": "failed"})
    assert failed.status == "failed" and failed.error is not None
    partial = client.responses.create(model="m", input="x",
                                      metadata={"fake_outcome": "incomplete"})
    assert partial.status == "incomplete" and partial.incomplete_details is not None


@pytest.mark.parametrize(("kwargs", "param"), [
    ({"input": "x"}, "model"),
    ({"model": "m"}, "input"),
    ({"model": "m", "input": 7}, "input"),
    ({"model": "m", "input": [{"content": "no role"}]}, "input[0].role"),
    ({"model": "m", "input": "x", "metadata": {"fake_seconds": "soon"}},
     "metadata.fake_seconds"),
    ({"model": "m", "input": "x", "conversation": 5}, "conversation"),
    ({"model": "m", "input": "x", "background": "yes"}, "background"),
])
def test_bad_input_gets_400_naming_the_param(fake: FakeOpenAI, client: OpenAI,
                                             kwargs: dict[str, Any], param: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(**kwargs)
    assert info.value.status_code == 400
    assert info.value.param == param
    assert param in info.value.message
    assert requests(fake, "POST /v1/responses") == 1  # not retried


def test_unknown_ids_get_404(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="resp_nope"):
        client.responses.retrieve("resp_nope")
    with pytest.raises(openai.NotFoundError, match="conv_nope"):
        client.responses.create(model="m", input="x", conversation="conv_nope")
    with pytest.raises(openai.NotFoundError, match="conv_nope"):
        client.conversations.items.list("conv_nope")
    with pytest.raises(openai.NotFoundError, match="Invalid URL"):
        client.get("/nothing/here", cast_to=object)


def test_conversation_crud(client: OpenAI) -> None:
    conv = client.conversations.create(metadata={"k": "v"})
    assert client.conversations.retrieve(conv.id).metadata == {"k": "v"}
    assert client.conversations.update(conv.id, metadata={"k": "w"}).metadata == {"k": "w"}
    added = client.conversations.items.create(conv.id, items=[
        {"type": "message", "role": "user", "content": "note"}])
    item_id = added.data[0].id
    assert item_id is not None
    assert client.conversations.items.retrieve(item_id, conversation_id=conv.id).id == item_id
    assert client.conversations.delete(conv.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(conv.id)


def test_control_routes_and_remote_helpers(fake: FakeOpenAI, client: OpenAI) -> None:
    client.responses.create(model="m", input="x")
    assert stats_at(fake.base_url)["requests"]["total"] == fake.stats()["requests"]["total"]
    assert configure_at(fake.url, run_seconds="inf")["run_seconds"] == "inf"
    fake.configure(run_seconds=0.05)
    assert fake.stats()["config"]["run_seconds"] == 0.05
    reset_at(fake.base_url)
    stats = fake.stats()
    assert stats["requests"]["total"] == 0  # counted before the reset, then forgotten
    assert stats["completed"]["responses"] == 0
    with pytest.raises(ValueError, match="bogus"):
        configure_at(fake.url, bogus=1.0)
    with pytest.raises(errors.ApiError, match="run_seconds"):
        fake.configure(run_seconds=-1)


def test_files_and_content_parts(client: OpenAI) -> None:
    uploaded = client.files.create(file=("notes.txt", b"hello"), purpose="assistants")
    assert uploaded.id.startswith("file-") and uploaded.bytes == 5
    assert client.files.retrieve(uploaded.id).filename == "notes.txt"


def test_cli_prints_its_url_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "threadlock", "fake-openai", "--port", "0",
                             "--response-seconds", "0.01"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        threading.Thread(target=lambda: lines.put(proc.stdout.readline()),  # type: ignore
                         daemon=True).start()
        line = lines.get(timeout=BOUND)
        prefix = "fake-openai listening on "
        assert line.startswith(prefix), line
        base_url = line[len(prefix):].strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        with OpenAI(base_url=base_url, api_key="test") as client:
            assert client.responses.create(model="m", input="hi").output_text == "echo: hi"
        assert stats_at(base_url)["completed"]["responses"] == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(BOUND) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


def test_stats_document_is_json(fake: FakeOpenAI) -> None:
    stats = wait_stats(fake, lambda s: s["active"] == {"responses": [], "runs": []})
    assert json.loads(json.dumps(stats)) == stats
