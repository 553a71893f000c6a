"""The OpenAI guard, in one process: the real `openai` client against the fake OpenAI
server, locks from a real coordinator process on etcd. Every test runs through the sync face
(GuardedOpenAI, called from worker threads) and the async face (AsyncGuardedOpenAI)."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import threading
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import pytest_asyncio
from fake_openai_helpers import await_stats, item_texts
from harness import eventually, serve_process

from threadlock.fake_openai import FakeOpenAI
from threadlock_client import (
    ConversationLocked,
    LeaseLost,
    LockClient,
    ThreadBusy,
    ThreadlockError,
)
from threadlock_client.aio import AsyncLockClient
from threadlock_client.guard import AsyncGuardedOpenAI, GuardedOpenAI

pytestmark = [pytest.mark.parametrize("served", ["etcd"], indirect=True),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI.start_in_thread(response_seconds=0.1, run_seconds=0.1) as f:
        yield f


class Guard:
    """Both faces behind one async interface: `call(lambda g: g.responses.create(...))`."""

    def __init__(self, kind: str, address: str, base_url: str, **options: Any) -> None:
        self.kind = kind
        options = {"poll_interval": 0.05, "ttl": 3, **options}
        if kind == "sync":
            self.locks: Any = LockClient(address, owner=f"guard-{kind}")
            self.g: Any = GuardedOpenAI(openai.OpenAI(base_url=base_url, api_key="t"),
                                        self.locks, **options)
        else:
            self.locks = AsyncLockClient(address, owner=f"guard-{kind}")
            self.g = AsyncGuardedOpenAI(openai.AsyncOpenAI(base_url=base_url, api_key="t"),
                                        self.locks, **options)

    inline: int | None = None  # the thread of an open sync session: call in it, not beside it

    async def call(self, fn: Callable[[Any], Any]) -> Any:
        if self.kind == "sync":
            if threading.get_ident() == self.inline:
                return fn(self.g)  # a session's hold is reused only in its own thread
            return await asyncio.to_thread(fn, self.g)
        return await fn(self.g)

    async def status(self, target: str) -> list[Any]:
        if self.kind == "sync":
            return await asyncio.to_thread(self.locks.status, "openai/" + target)
        return list(await self.locks.status("openai/" + target))

    async def close(self) -> None:
        if self.kind == "sync":
            await asyncio.to_thread(self.locks.close)
        else:
            await self.locks.close()


@pytest_asyncio.fixture(params=["sync", "async"])
async def guard(request: pytest.FixtureRequest, served: str,
                fake: FakeOpenAI) -> AsyncIterator[Guard]:
    g = Guard(request.param, served, fake.base_url)
    yield g
    await g.close()


def _plain(fake: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.base_url, api_key="t")


def _conversation(fake: FakeOpenAI) -> str:
    return _plain(fake).conversations.create().id


def _thread(fake: FakeOpenAI) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return _plain(fake).beta.threads.create().id


def _conflicts(fake: FakeOpenAI) -> int:
    return int(fake.stats()["conflicts_total"])


async def _holder(guard: Guard, target: str) -> dict[str, str]:
    states = await guard.status(target)
    return dict(states[0].holder.metadata) if states else {}


async def test_busy_conversation_fails_fast_with_a_readable_thread_busy(
        guard: Guard, fake: FakeOpenAI, served: str) -> None:
    conv = _conversation(fake)
    sent = fake.stats()["requests"]["by_route"].get("POST /v1/responses", 0)
    with (LockClient(served, owner="other-worker") as other, other.hold("openai/" + conv),
          pytest.raises(ThreadBusy) as caught):
        await guard.call(lambda g: g.with_options(wait=0).responses.create(
            conversation=conv, model="m", input="hi"))
    busy = caught.value
    assert busy.holder == "other-worker" and conv in busy.message and "busy" in busy.message
    assert fake.stats()["requests"]["by_route"].get("POST /v1/responses", 0) == sent


async def test_background_response_keeps_the_lease_until_it_finishes(
        guard: Guard, fake: FakeOpenAI) -> None:
    conv = _conversation(fake)
    task = asyncio.ensure_future(guard.call(lambda g: g.responses.create(
        conversation=conv, model="m", input="bg", background=True,
        metadata={"fake_seconds": "1.5"})))
    meta = await eventually(lambda: _holder(guard, conv))  # held, and says by which response
    await eventually(lambda: _has_response_id(guard, conv))
    resp = await task
    assert resp.status == "completed" and resp.id.startswith("resp")
    assert meta.get("op") == "responses.create"
    assert await guard.status(conv) == []  # released only once it was terminal
    items = _plain(fake).conversations.items.list(conv, order="asc").data
    assert item_texts(items)[-1] == ("assistant", "echo: bg")


async def _has_response_id(guard: Guard, conv: str) -> bool:
    return (await _holder(guard, conv)).get("response_id", "").startswith("resp")


async def test_streamed_response_keeps_the_lease_until_the_stream_ends(
        guard: Guard, fake: FakeOpenAI) -> None:
    conv = _conversation(fake)
    before = _conflicts(fake)
    stream = await guard.call(lambda g: g.responses.create(
        conversation=conv, model="m", input="st", stream=True, metadata={"fake_seconds": "1"}))
    events = await _consume(guard, stream, lambda: _still_held(guard, conv))
    assert events[-1] == "response.completed" and "response.output_text.delta" in events
    assert await guard.status(conv) == []
    assert _conflicts(fake) == before


async def _still_held(guard: Guard, conv: str) -> None:
    assert await guard.status(conv), "the stream's lease must be held while it streams"


async def _consume(guard: Guard, stream: Any, midway: Callable[[], Awaitable[None]]) -> list[str]:
    kinds: list[str] = []
    if guard.kind == "sync":
        it = iter(stream)
        kinds.append((await asyncio.to_thread(next, it)).type)
        await midway()
        kinds += [e.type for e in await asyncio.to_thread(list, it)]
    else:
        it = stream.__aiter__()
        kinds.append((await it.__anext__()).type)
        await midway()
        kinds += [e.type async for e in it]
    return kinds


async def test_a_writer_bypassing_the_coordinator_is_waited_out_then_reported(
        guard: Guard, fake: FakeOpenAI) -> None:
    conv = _conversation(fake)
    _plain(fake).responses.create(conversation=conv, model="m", input="rogue", background=True,
                                  metadata={"fake_seconds": "1"})
    resp = await guard.call(lambda g: g.responses.create(conversation=conv, model="m",
                                                         input="mine"))
    assert resp.status == "completed"  # OpenAI's conversation_locked was retried under lease
    stuck = _conversation(fake)
    _plain(fake).responses.create(conversation=stuck, model="m", input="rogue",
                                  background=True, metadata={"fake_seconds": "inf"})
    with pytest.raises(ConversationLocked, match="retried"):
        await guard.call(lambda g: g.with_options(busy_timeout=1).responses.create(
            conversation=stuck, model="m", input="mine"))


async def test_a_lease_lost_mid_call_raises_lease_lost_and_cancels_the_response(
        guard: Guard, fake: FakeOpenAI, tmp_path: Path) -> None:
    proc, address = serve_process({}, tmp_path / "serve.log")  # a coordinator we may freeze
    frozen = Guard(guard.kind, address, fake.base_url, ttl=2)
    conv = _conversation(fake)
    cancelled = fake.stats()["cancelled"]["responses"]
    try:
        call = asyncio.ensure_future(frozen.call(lambda g: g.responses.create(
            conversation=conv, model="m", input="x", background=True,
            metadata={"fake_seconds": "inf"})))
        await eventually(lambda: _has_response_id(frozen, conv))
        os.kill(proc.pid, signal.SIGSTOP)  # renewals stop getting through
        with pytest.raises(LeaseLost):
            await asyncio.wait_for(call, 60)
        # Giving the conversation up, the guard cancelled its response at OpenAI.
        await await_stats(fake, lambda s: s["cancelled"]["responses"] == cancelled + 1)
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
        proc.wait()
        await frozen.close()


async def _in_session(guard: Guard, target: str,
                      body: Callable[[Any], Coroutine[Any, Any, None]]) -> None:
    """Run `body(lease)` inside `guard.g.session(target)` for either face: for the sync face,
    in the session's own thread (with a loop of its own), where its hold is reused."""
    if guard.kind == "async":
        async with guard.g.session(target) as lease:
            await body(lease)
        return

    def run() -> None:
        with guard.g.session(target) as lease:
            guard.inline = threading.get_ident()
            try:
                asyncio.run(body(lease))
            finally:
                guard.inline = None

    await asyncio.to_thread(run)


def _section(conv: str, text: str, g: Any) -> Any:
    return g.responses.create(conversation=conv, model="m", input=text)


async def test_a_session_runs_ten_sub_sections_in_a_row(guard: Guard, fake: FakeOpenAI) -> None:
    conv = _conversation(fake)
    before = _conflicts(fake)

    async def body(lease: Any) -> None:
        for i in range(10):  # the seeds' full generation: 10 sub-sections in one conversation
            section = f"section {i}"
            await guard.call(functools.partial(_section, conv, section))
            assert (await guard.status(conv))[0].holder.fencing_token == lease.fencing_token

    await _in_session(guard, conv, body)
    texts = [t for role, t in item_texts(_plain(fake).conversations.items.list(
        conv, limit=100, order="asc").data) if role == "assistant"]
    assert texts == [f"echo: section {i}" for i in range(10)]
    assert _conflicts(fake) == before and await guard.status(conv) == []


async def test_send_adds_the_message_and_runs_it_to_completion(guard: Guard,
                                                               fake: FakeOpenAI) -> None:
    thread = _thread(fake)
    reply = await guard.call(lambda g: g.send(thread, "hello", "asst_1",
                                              images=["https://example.com/a.png"]))
    assert reply.text == "echo: hello" and reply.run.status == "completed"
    assert await guard.status(thread) == []


async def test_runs_wait_for_an_active_run_instead_of_colliding(guard: Guard,
                                                                fake: FakeOpenAI) -> None:
    thread = _thread(fake)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        _plain(fake).beta.threads.runs.create(thread, assistant_id="a",
                                              metadata={"fake_seconds": "1"})
    before = _conflicts(fake)
    run = await guard.call(lambda g: g.beta.threads.runs.create(thread, assistant_id="a"))
    assert run.status == "completed" and _conflicts(fake) == before
    await await_stats(fake, lambda s: not any(r.startswith(thread) for r in s["active"]["runs"]))


async def test_run_stream_holds_the_lease_for_the_whole_stream(guard: Guard,
                                                                fake: FakeOpenAI) -> None:
    thread = _thread(fake)
    if guard.kind == "sync":
        def run() -> str:
            with guard.g.beta.threads.runs.stream(thread, assistant_id="a") as stream:
                assert guard.locks.status("openai/" + thread)  # held while streaming
                stream.until_done()
                return str(stream.get_final_run().status)
        status = await asyncio.to_thread(run)
    else:
        async with guard.g.beta.threads.runs.stream(thread, assistant_id="a") as stream:
            assert await guard.status(thread)
            await stream.until_done()
            status = (await stream.get_final_run()).status
    assert status == "completed" and await guard.status(thread) == []


async def test_a_guarded_call_needs_its_conversation(guard: Guard) -> None:
    with pytest.raises(ValueError, match="conversation"):
        await guard.call(lambda g: g.responses.create(model="m", input="no conversation"))


async def test_the_run_in_flight_shows_in_status(guard: Guard,
                                                                      fake: FakeOpenAI) -> None:
    thread = _thread(fake)

    async def body(lease: Any) -> None:
        await guard.call(lambda g: g.beta.threads.runs.create(thread, assistant_id="a"))
        meta = await _holder(guard, thread)
        assert meta["op"] == "session" and meta["run_id"].startswith("run")

    await _in_session(guard, thread, body)


async def test_a_cancelled_caller_cancels_its_background_response(served: str,
                                                                  fake: FakeOpenAI) -> None:
    guard = Guard("async", served, fake.base_url)
    conv = _conversation(fake)
    cancelled = fake.stats()["cancelled"]["responses"]
    call = asyncio.ensure_future(guard.g.responses.create(
        conversation=conv, model="m", input="x", background=True,
        metadata={"fake_seconds": "inf"}))
    await eventually(lambda: _has_response_id(guard, conv))  # created, being polled
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await await_stats(fake, lambda s: s["cancelled"]["responses"] == cancelled + 1)
    await eventually(lambda: _free(guard, conv))
    await guard.close()


async def _free(guard: Guard, target: str) -> bool:
    return not await guard.status(target)


async def test_a_background_stream_stopped_early_is_cancelled(guard: Guard,
                                                               fake: FakeOpenAI) -> None:
    conv = _conversation(fake)
    cancelled = fake.stats()["cancelled"]["responses"]
    stream = await guard.call(lambda g: g.responses.create(
        conversation=conv, model="m", input="x", stream=True, background=True,
        metadata={"fake_seconds": "inf"}))
    if guard.kind == "sync":
        it = iter(stream)
        await asyncio.to_thread(next, it)
        await asyncio.to_thread(it.close)  # the caller stops reading
    else:
        ait = stream.__aiter__()
        await ait.__anext__()
        await ait.aclose()
    await await_stats(fake, lambda s: s["cancelled"]["responses"] == cancelled + 1)
    assert await guard.status(conv) == []


async def test_response_stream_manager_waits_out_a_busy_conversation(
        guard: Guard, fake: FakeOpenAI) -> None:
    conv = _conversation(fake)
    _plain(fake).responses.create(conversation=conv, model="m", input="rogue", background=True,
                                  metadata={"fake_seconds": "1"})
    if guard.kind == "sync":
        def run() -> str:
            with guard.g.responses.stream(conversation=conv, model="m", input="mine") as s:
                return str(s.get_final_response().status)
        status = await asyncio.to_thread(run)
    else:
        async with guard.g.responses.stream(conversation=conv, model="m", input="mine") as s:
            status = (await s.get_final_response()).status
    assert status == "completed"


async def test_a_session_is_not_reused_from_another_task(served: str, fake: FakeOpenAI) -> None:
    guard = Guard("async", served, fake.base_url)
    conv = _conversation(fake)
    async with guard.g.session(conv):
        with pytest.raises(ThreadlockError, match="another task"):
            await asyncio.gather(guard.g.responses.create(conversation=conv, model="m",
                                                          input="x"))
    await guard.close()


async def test_unguarded_parts_of_the_client_pass_through(guard: Guard) -> None:
    conv = await guard.call(lambda g: g.conversations.create())
    assert conv.id.startswith("conv")
