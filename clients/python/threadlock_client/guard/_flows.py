"""What the OpenAI guard does under a lease, as I/O-free generators; `sync.py` and `aio.py`
drive them with an `openai.OpenAI` or `openai.AsyncOpenAI` client. A flow yields:

    OpenAICall(path, kwargs)  -> the SDK method's result; its exception is thrown back in
    Annotate(metadata)        -> None; merged into the held lock's metadata (Status shows it)
    Sleep(seconds)            -> None

Rules it enforces (OpenAI's own concurrency rules, which answer HTTP 400):
- Responses: one request at a time per conversation ("conversation_locked"). A background
  response keeps the conversation busy until it is terminal, so the flow polls it under the
  lease. If OpenAI still answers conversation_locked (a writer that bypasses the coordinator,
  or a response left by a crashed holder), it waits and retries, bounded, then raises
  ConversationLocked.
- Assistants: one active run per thread, no messages while it runs. Before adding a message or
  creating a run, wait for active runs (queued, in_progress, requires_action, cancelling),
  bounded; a run older than `orphan_run_age` was left by a crashed holder and is cancelled.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import openai

from threadlock_client._common import LeaseView
from threadlock_client._protocol import Sleep
from threadlock_client.errors import ConversationLocked, CoordinatorError

TERMINAL_RESPONSE = frozenset({"completed", "failed", "cancelled", "incomplete"})
ACTIVE_RUN = frozenset({"queued", "in_progress", "requires_action", "cancelling"})


@dataclass(frozen=True)
class GuardOptions:
    """How guarded calls behave. `wait` 0 = fail fast with ThreadBusy; > 0 = queue that long."""

    ttl: float = 30.0  # lease TTL; renewed every ttl/3 while a call runs
    wait: float = 60.0
    key_prefix: str = "openai/"  # lock key = key_prefix + conversation or thread id
    busy_timeout: float = 60.0  # how long to retry OpenAI's own "busy" answers under the lease
    active_run_timeout: float = 600.0  # how long to wait for runs already active on a thread
    # Cancel active runs older than this (None: never). Guarded holders wait for their runs
    # before releasing, so a run still active when we hold the lock was left by a holder that
    # crashed (or by a writer that bypasses the coordinator).
    orphan_run_age: float | None = 60.0
    poll_interval: float = 0.5  # polling of background responses and runs


@dataclass(frozen=True)
class OpenAICall:
    path: str  # "responses.create", "beta.threads.runs.list", ...
    kwargs: dict[str, Any] = field(default_factory=dict)
    shielded: bool = False  # a clean-up: finishes even if the caller is cancelled meanwhile

    def resolve(self, client: Any) -> Callable[..., Any]:
        target = client
        for name in self.path.split("."):
            target = getattr(target, name)
        return target  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Annotate:
    metadata: dict[str, str]


@dataclass(frozen=True)
class Invoke:
    """Call `fn()` (and await its result, in the async face): e.g. enter a stream manager."""

    fn: Callable[[], Any]


Op = OpenAICall | Annotate | Invoke | Sleep
CANCEL_TIMEOUT = 10.0  # seconds for a best-effort cancel on the way out
Flow = Generator[Op, Any, Any]


def busy_at_openai(exc: BaseException) -> bool:
    """OpenAI's answer for a conversation or thread that is busy (HTTP 400)."""
    if not isinstance(exc, openai.BadRequestError):
        return False
    message = str(getattr(exc, "message", exc))
    return (exc.code == "conversation_locked" or "already has an active run" in message
            or "while a run" in message)


def retry_busy(call: OpenAICall | Invoke, target: str, lease: LeaseView, opts: GuardOptions,
               before_retry: Callable[[], Flow] | None = None) -> Flow:
    """Make `call`; while OpenAI says `target` is busy, wait (or run `before_retry`) and retry
    under the lease, for at most `busy_timeout`."""
    deadline = time.monotonic() + opts.busy_timeout
    pause = 0.25
    while True:
        lease.check()
        try:
            return (yield call)
        except openai.BadRequestError as exc:
            if not busy_at_openai(exc):
                raise
            if time.monotonic() + pause > deadline:
                raise ConversationLocked(target, f"{exc.message} (retried for "
                                                 f"{opts.busy_timeout:g}s)") from exc
        if before_retry is not None:
            yield from before_retry()
        yield Sleep(pause)
        pause = min(pause * 2, 2.0)


# --- Responses + Conversations ----------------------------------------------------------------

def conversation_of(kwargs: dict[str, Any]) -> str:
    conv = kwargs.get("conversation")
    if isinstance(conv, dict):
        conv = conv.get("id")
    if not isinstance(conv, str) or not conv:
        raise ValueError("conversation: a guarded responses.create needs the conversation id "
                         "(it is the lock key); use the plain client for stateless calls")
    return conv


def create_response(kwargs: dict[str, Any], lease: LeaseView, opts: GuardOptions,
                    path: str = "responses.create") -> Flow:
    """responses.create (or .parse); with background=True, poll it to a terminal state and
    return that."""
    conv = conversation_of(kwargs)
    resp = yield from retry_busy(OpenAICall(path, kwargs), conv, lease, opts)
    if not kwargs.get("background"):
        return resp
    try:
        yield from annotate({"response_id": resp.id})
        while resp.status not in TERMINAL_RESPONSE:
            yield Sleep(opts.poll_interval)
            lease.check()
            resp = yield OpenAICall("responses.retrieve", {"response_id": resp.id})
    except GeneratorExit:
        raise
    except BaseException:  # incl. cancellation of the caller and a lost lease
        # We are giving the conversation up: don't leave our response running in it (it
        # would answer conversation_locked to the next holder).
        yield from quietly(OpenAICall("responses.cancel", {"response_id": resp.id,
                                                           "timeout": CANCEL_TIMEOUT}, True))
        raise
    return resp


def quietly(call: OpenAICall) -> Flow:
    """A best-effort call on the way out: its failure must not hide the original error."""
    with contextlib.suppress(Exception):
        yield call


def enter_stream(enter: Callable[[], Any], target: str, lease: LeaseView, opts: GuardOptions,
                 before: Callable[[], Flow] | None = None) -> Flow:
    """Enter a stream manager (`responses.stream`, `runs.stream`) under the lease, retrying
    OpenAI's busy answer like any other call; `before` runs first and before each retry."""
    if before is not None:
        yield from before()
    return (yield from retry_busy(Invoke(enter), target, lease, opts, before))


def annotate(metadata: dict[str, str]) -> Flow:
    """Note what the holder is doing on its lock; best effort (a coordinator blip must not
    fail the OpenAI call it describes; a lost lease still raises)."""
    with contextlib.suppress(CoordinatorError):
        yield Annotate(metadata)


# --- Assistants (threads, messages, runs) -----------------------------------------------------

def wait_active_runs(thread_id: str, lease: LeaseView, opts: GuardOptions) -> Flow:
    """Return once no run is active on the thread; cancel orphans; bounded."""
    deadline = time.monotonic() + opts.active_run_timeout
    cancelled: set[str] = set()
    while True:
        lease.check()
        page = yield OpenAICall("beta.threads.runs.list", {"thread_id": thread_id, "limit": 20})
        active = [r for r in page.data if r.status in ACTIVE_RUN]
        if not active:
            return
        for run in active:
            age = time.time() - run.created_at
            if (opts.orphan_run_age is not None and age > opts.orphan_run_age
                    and run.status != "cancelling" and run.id not in cancelled):
                cancelled.add(run.id)  # left by a holder that crashed: nobody will finish it
                # It may have finished meanwhile ("Cannot cancel run with status ..."): fine.
                yield from quietly(OpenAICall("beta.threads.runs.cancel",
                                              {"run_id": run.id, "thread_id": thread_id}))
        if time.monotonic() > deadline:
            raise ConversationLocked(thread_id, f"run {active[0].id} is still "
                                                f"{active[0].status} after "
                                                f"{opts.active_run_timeout:g}s")
        yield Sleep(opts.poll_interval)


def create_message(thread_id: str, kwargs: dict[str, Any], lease: LeaseView,
                   opts: GuardOptions) -> Flow:
    yield from wait_active_runs(thread_id, lease, opts)
    return (yield from retry_busy(
        OpenAICall("beta.threads.messages.create", {"thread_id": thread_id, **kwargs}),
        thread_id, lease, opts, lambda: wait_active_runs(thread_id, lease, opts)))


def run_to_end(thread_id: str, kwargs: dict[str, Any], lease: LeaseView,
               opts: GuardOptions) -> Flow:
    """Create a run once the thread is idle, and poll it until it is terminal. A run that
    needs tool outputs (requires_action) is returned as it is: outside `guarded.session(...)`
    the lock is released with the run still active, and the next holder waits for it (or
    cancels it after `orphan_run_age`); do tool-calling inside a session."""
    yield from wait_active_runs(thread_id, lease, opts)
    run = yield from retry_busy(
        OpenAICall("beta.threads.runs.create", {"thread_id": thread_id, **kwargs}),
        thread_id, lease, opts, lambda: wait_active_runs(thread_id, lease, opts))
    try:
        yield from annotate({"run_id": run.id})
        while run.status in ACTIVE_RUN and run.status != "requires_action":
            yield Sleep(opts.poll_interval)
            lease.check()
            run = yield OpenAICall("beta.threads.runs.retrieve",
                                   {"run_id": run.id, "thread_id": thread_id})
    except GeneratorExit:
        raise
    except BaseException:  # giving the thread up: don't leave our run active on it
        yield from quietly(OpenAICall("beta.threads.runs.cancel", {
            "run_id": run.id, "thread_id": thread_id, "timeout": CANCEL_TIMEOUT}, True))
        raise
    return run


@dataclass(frozen=True)
class Reply:
    """What `send` returns: the assistant's text, the run, and its message (None if the run
    did not complete)."""

    text: str
    run: Any
    message: Any


def send(thread_id: str, content: str, assistant_id: str, files: list[str],
         images: list[str], run_kwargs: dict[str, Any], lease: LeaseView,
         opts: GuardOptions) -> Flow:
    """Add the user's message (text, images by URL or file id, files for file_search) and run
    it to completion, all under one hold: the seeds' chat / chatWithImage / chatWithFile."""
    parts: list[dict[str, Any]] = [{"type": "text", "text": content}]
    for image in images:
        parts.append({"type": "image_url", "image_url": {"url": image}}
                     if image.startswith(("http://", "https://", "data:"))
                     else {"type": "image_file", "image_file": {"file_id": image}})
    message: dict[str, Any] = {"role": "user", "content": parts}
    if files:
        message["attachments"] = [{"file_id": f, "tools": [{"type": "file_search"}]}
                                  for f in files]
    yield from create_message(thread_id, message, lease, opts)
    run = yield from run_to_end(thread_id, {"assistant_id": assistant_id, **run_kwargs},
                                lease, opts)
    if run.status != "completed":
        return Reply("", run, None)
    page = yield OpenAICall("beta.threads.messages.list",
                            {"thread_id": thread_id, "order": "desc", "limit": 1})
    reply = next((m for m in page.data if m.role == "assistant"), None)
    text = "".join(p.text.value for p in (reply.content if reply else [])
                   if getattr(p, "type", "") == "text")
    return Reply(text, run, reply)
