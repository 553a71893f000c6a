"""One stress worker process (started by the driver; not meant to be run by hand):

    python -m threadlock.stress.worker --id 0 --target conv_1 --address H:P --base-url U
        --api responses|assistants --mode guarded|unguarded --face sync|async
        --iterations N (0: until told to stop) --ttl S --wait S --call-seconds S ...

Protocol, one JSON object per line on stdout, times from `time.monotonic()`:
  {"ev": "ready", "pid"}                             imports done, clients built and warmed up
  -- waits for a line "go" on stdin (all workers start at once: the seed's maximum conflict)
  {"ev": "asking", "key", "at"}                      about to ask for the lock (guarded only)
  {"ev": "acquired", "key", "token", "requested", "granted"}   lock granted (guarded), or the
                                                     call about to start (unguarded, token null)
  {"ev": "released", "key", "token", "at"}           written just BEFORE the release is sent, so
                                                     [granted, at] lies inside the hold
  {"ev": "call", "ok", "error", "conflicts", "at"}   the iteration's outcome; error: OpenAI's
                                                     error code or the exception's class name;
                                                     conflicts: OpenAI's busy answers (HTTP 400)
                                                     seen, including those the guard retried
  {"ev": "done"}                                     finished; exit status 0
A later line "stop" on stdin, or EOF (the driver is gone), ends the run after the current
iteration. SIGKILL is the driver's fault injection: the worker then simply vanishes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import signal
import sys
import threading
import time
import warnings
from typing import Any

import openai

from threadlock_client import LockClient
from threadlock_client.aio import AsyncLockClient
from threadlock_client.guard import AsyncGuardedOpenAI, GuardedOpenAI

warnings.simplefilter("ignore", DeprecationWarning)  # beta.threads warns at call time
_stop = threading.Event()


def _emit(**event: Any) -> None:
    print(json.dumps(event), flush=True)


def _die_with_parent() -> None:
    """Linux: SIGKILL us when the driver dies, even by SIGKILL (no process left behind)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _watch_stdin() -> None:
    for line in sys.stdin:
        if line.strip() == "stop":
            break
    _stop.set()  # "stop", or EOF: the driver is gone


def _busy_text(code: object, message: str) -> bool:
    return (code == "conversation_locked" or "already has an active run" in message
            or "while a run" in message)


def _kind(exc: BaseException) -> tuple[str, bool]:
    """(error kind, whether it is a conflict the worker saw: OpenAI's "busy" answer, or the
    guard's ConversationLocked, which it raises when OpenAI stayed busy under its lease)."""
    code = getattr(exc, "code", None)
    message = str(getattr(exc, "message", exc))
    busy = isinstance(exc, openai.BadRequestError) and _busy_text(code, message)
    if busy and not code:
        code = "thread_busy"
    busy = busy or type(exc).__name__ == "ConversationLocked"
    return (code if isinstance(code, str) and code else type(exc).__name__), busy


class BusyCounter:
    """Counts OpenAI's busy answers (HTTP 400) at the HTTP layer: the guard retries them
    silently, so against a real OpenAI (no fake to count them) they would otherwise never show
    up as conflicts. Hooks of openai.DefaultHttpxClient: the response is typed Any, as the
    openai package picks its HTTP library (httpx, or a fork of it)."""

    def __init__(self) -> None:
        self.count = 0

    def hook(self, response: Any) -> None:
        if response.status_code == 400:
            response.read()
            self._see(response)

    async def async_hook(self, response: Any) -> None:
        if response.status_code == 400:
            await response.aread()
            self._see(response)

    def _see(self, response: Any) -> None:
        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError):
            return
        if _busy_text(error.get("code"), str(error.get("message", ""))):
            self.count += 1

    def take(self) -> int:
        n, self.count = self.count, 0
        return n


def _outcome(exc: Exception | None, busy: BusyCounter) -> None:
    """The iteration's "call" event."""
    seen = busy.take()
    if exc is None:
        _emit(ev="call", ok=True, error=None, conflicts=seen, at=time.monotonic())
        return
    kind, conflict = _kind(exc)
    _emit(ev="call", ok=False, error=kind, conflicts=max(seen, int(conflict)),
          at=time.monotonic())


class Work:
    """What one iteration sends to OpenAI, per API."""

    def __init__(self, a: argparse.Namespace) -> None:
        self.a = a
        self.meta = {"fake_seconds": f"{a.call_seconds:g}"} if a.fake else {}

    def response(self, i: int) -> dict[str, Any]:
        return {"conversation": self.a.target, "model": self.a.model,
                "input": f"worker {self.a.id} part {i}", "metadata": self.meta}

    def message(self, i: int) -> dict[str, Any]:
        return {"role": "user", "content": f"worker {self.a.id} part {i}"}

    def run(self) -> dict[str, Any]:
        return {"assistant_id": self.a.assistant_id, "model": self.a.model,
                "metadata": self.meta}


def _sync(a: argparse.Namespace) -> None:
    busy = BusyCounter()
    client = openai.OpenAI(base_url=a.base_url, api_key=a.api_key, http_client=(
        openai.DefaultHttpxClient(event_hooks={"response": [busy.hook]})))
    locks = LockClient(a.address, owner=f"stress-worker-{a.id}-pid{os.getpid()}")
    guard = GuardedOpenAI(client, locks, ttl=a.ttl, wait=a.wait,
                          orphan_run_age=a.orphan_run_age, poll_interval=0.05)
    work = Work(a)
    _warm_up(client, a)
    busy.take()
    _emit(ev="ready", pid=os.getpid())
    _await_go(not a.no_barrier)
    i = 0
    while not _stop.is_set() and (a.iterations == 0 or i < a.iterations):
        try:
            if a.mode == "guarded":
                requested = time.monotonic()
                _emit(ev="asking", key=a.target, at=requested)
                with guard.session(a.target) as lease:
                    _emit(ev="acquired", key=a.target, token=lease.fencing_token,
                          requested=requested, granted=time.monotonic())
                    try:
                        if a.api == "responses":
                            guard.responses.create(**work.response(i))
                        else:
                            guard.beta.threads.messages.create(a.target, **work.message(i))
                            guard.beta.threads.runs.create(a.target, **work.run())
                    finally:
                        _emit(ev="released", key=a.target, token=lease.fencing_token,
                              at=time.monotonic())
            else:
                start = time.monotonic()
                _emit(ev="acquired", key=a.target, token=None, requested=start, granted=start)
                try:
                    if a.api == "responses":
                        client.responses.create(**work.response(i))
                    else:
                        client.beta.threads.messages.create(a.target, **work.message(i))
                        client.beta.threads.runs.create_and_poll(
                            thread_id=a.target, poll_interval_ms=50, **work.run())
                finally:
                    _emit(ev="released", key=a.target, token=None, at=time.monotonic())
            _outcome(None, busy)
        except Exception as exc:
            _outcome(exc, busy)
        i += 1
    locks.close()


async def _async(a: argparse.Namespace) -> None:
    busy = BusyCounter()
    client = openai.AsyncOpenAI(base_url=a.base_url, api_key=a.api_key, http_client=(
        openai.DefaultAsyncHttpxClient(event_hooks={"response": [busy.async_hook]})))
    locks = AsyncLockClient(a.address, owner=f"stress-worker-{a.id}-pid{os.getpid()}")
    guard = AsyncGuardedOpenAI(client, locks, ttl=a.ttl, wait=a.wait,
                               orphan_run_age=a.orphan_run_age, poll_interval=0.05)
    work = Work(a)
    await asyncio.to_thread(_warm_up, openai.OpenAI(base_url=a.base_url, api_key=a.api_key), a)
    _emit(ev="ready", pid=os.getpid())
    await asyncio.to_thread(_await_go, not a.no_barrier)
    i = 0
    while not _stop.is_set() and (a.iterations == 0 or i < a.iterations):
        try:
            if a.mode == "guarded":
                requested = time.monotonic()
                _emit(ev="asking", key=a.target, at=requested)
                async with guard.session(a.target) as lease:
                    _emit(ev="acquired", key=a.target, token=lease.fencing_token,
                          requested=requested, granted=time.monotonic())
                    try:
                        if a.api == "responses":
                            await guard.responses.create(**work.response(i))
                        else:
                            await guard.beta.threads.messages.create(a.target,
                                                                     **work.message(i))
                            await guard.beta.threads.runs.create(a.target, **work.run())
                    finally:
                        _emit(ev="released", key=a.target, token=lease.fencing_token,
                              at=time.monotonic())
            else:
                start = time.monotonic()
                _emit(ev="acquired", key=a.target, token=None, requested=start, granted=start)
                try:
                    if a.api == "responses":
                        await client.responses.create(**work.response(i))
                    else:
                        await client.beta.threads.messages.create(a.target, **work.message(i))
                        await client.beta.threads.runs.create_and_poll(
                            thread_id=a.target, poll_interval_ms=50, **work.run())
                finally:
                    _emit(ev="released", key=a.target, token=None, at=time.monotonic())
            _outcome(None, busy)
        except Exception as exc:
            _outcome(exc, busy)
        i += 1
    await locks.close()


def _warm_up(client: openai.OpenAI, a: argparse.Namespace) -> None:
    """One cheap read, so that the first iteration after "go" does not pay for connecting:
    without it, slow process start-up on a loaded host would spread the workers out and
    hide the race the barrier is there to provoke."""
    with contextlib.suppress(openai.OpenAIError):
        if a.api == "responses":
            client.conversations.retrieve(a.target)
        else:
            client.beta.threads.retrieve(a.target)


def _await_go(barrier: bool) -> None:
    if barrier:
        line = sys.stdin.readline()
        if line.strip() != "go":
            _stop.set()
    threading.Thread(target=_watch_stdin, name="stdin", daemon=True).start()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m threadlock.stress.worker")
    p.add_argument("--id", type=int, required=True)
    for name in ("--target", "--address", "--base-url", "--api", "--mode", "--face"):
        p.add_argument(name, required=True)
    p.add_argument("--iterations", type=int, default=0)
    p.add_argument("--ttl", type=float, default=10.0)
    p.add_argument("--wait", type=float, default=120.0)
    p.add_argument("--call-seconds", type=float, default=0.2)
    p.add_argument("--orphan-run-age", type=float, default=1.0)
    p.add_argument("--model", default="gpt-4o-mini")
    p.add_argument("--assistant-id", default="asst_stress")
    p.add_argument("--fake", action="store_true", help="the API is the fake: set fake_seconds")
    p.add_argument("--no-barrier", action="store_true", help="start without waiting for go")
    a = p.parse_args(argv)
    a.api_key = os.environ.get("OPENAI_API_KEY") or "stress"
    return a


def main() -> None:
    _die_with_parent()
    a = parse()
    if a.face == "sync":
        _sync(a)
    else:
        asyncio.run(_async(a))
    _emit(ev="done")


if __name__ == "__main__":
    main()
