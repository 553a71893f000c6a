"""A worker process for the guard tests (the seeds' stress workers): N calls on one
conversation or thread, guarded by threadlock or not, through the sync or async face.
Prints one JSON line: {"ok": n, "errors": {kind: n}, "calls": [[start, end], ...]}.

    python guard_worker.py --address A --base-url U --target conv_1 --api responses
        --mode guarded --face sync --iterations 3 [--ttl 2] [--fake-seconds S] [--no-barrier]

It prints {"ready": true} once started, then waits for a line on stdin, so that a test can
start all workers at the same moment (the seeds' maximum conflict), whatever the machine's
speed; --no-barrier starts at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import warnings
from collections import Counter
from typing import Any

import openai

from threadlock_client import LockClient
from threadlock_client.aio import AsyncLockClient
from threadlock_client.guard import AsyncGuardedOpenAI, GuardedOpenAI

warnings.simplefilter("ignore", DeprecationWarning)  # beta.threads warns at call time


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    for name in ("--address", "--base-url", "--target", "--api", "--mode", "--face"):
        p.add_argument(name, required=True)
    p.add_argument("--iterations", type=int, default=1)
    p.add_argument("--no-barrier", action="store_true")
    p.add_argument("--ttl", type=float, default=10.0)
    p.add_argument("--fake-seconds", default="")
    p.add_argument("--assistant", default="asst_test")
    return p.parse_args()


def _kwargs(a: argparse.Namespace, i: int) -> dict[str, Any]:
    meta = {"fake_seconds": a.fake_seconds} if a.fake_seconds else {}
    if a.api == "responses":
        return {"conversation": a.target, "model": "gpt-test", "input": f"part {i}",
                "metadata": meta}
    return {"assistant_id": a.assistant, "metadata": meta}


def _sync(a: argparse.Namespace) -> tuple[int, Counter[str], list[list[float]]]:
    client = openai.OpenAI(base_url=a.base_url, api_key="test")
    locks = LockClient(a.address, owner=f"worker-{a.target}")
    guard = GuardedOpenAI(client, locks, ttl=a.ttl, wait=120, orphan_run_age=1.0,
                          poll_interval=0.05)
    ok, errors, calls = 0, Counter[str](), []
    for i in range(a.iterations):
        start = time.time()
        try:
            if a.api == "responses":
                (guard.responses if a.mode == "guarded" else client.responses).create(
                    **_kwargs(a, i))
            elif a.mode == "guarded":
                guard.beta.threads.messages.create(a.target, role="user", content=f"part {i}")
                guard.beta.threads.runs.create(a.target, **_kwargs(a, i))
            else:
                client.beta.threads.messages.create(a.target, role="user", content=f"p {i}")
                client.beta.threads.runs.create_and_poll(thread_id=a.target, **_kwargs(a, i))
            ok += 1
        except Exception as exc:
            errors[getattr(exc, "code", None) or type(exc).__name__] += 1
        calls.append([start, time.time()])
    locks.close()
    return ok, errors, calls


async def _async(a: argparse.Namespace) -> tuple[int, Counter[str], list[list[float]]]:
    client = openai.AsyncOpenAI(base_url=a.base_url, api_key="test")
    locks = AsyncLockClient(a.address, owner=f"worker-{a.target}")
    guard = AsyncGuardedOpenAI(client, locks, ttl=a.ttl, wait=120, orphan_run_age=1.0,
                               poll_interval=0.05)
    ok, errors, calls = 0, Counter[str](), []
    for i in range(a.iterations):
        start = time.time()
        try:
            if a.api == "responses":
                await (guard.responses if a.mode == "guarded" else client.responses).create(
                    **_kwargs(a, i))
            elif a.mode == "guarded":
                await guard.beta.threads.messages.create(a.target, role="user",
                                                         content=f"part {i}")
                await guard.beta.threads.runs.create(a.target, **_kwargs(a, i))
            else:
                await client.beta.threads.messages.create(a.target, role="user",
                                                          content=f"p {i}")
                await client.beta.threads.runs.create_and_poll(thread_id=a.target,
                                                               **_kwargs(a, i))
            ok += 1
        except Exception as exc:
            errors[getattr(exc, "code", None) or type(exc).__name__] += 1
        calls.append([start, time.time()])
    await locks.close()
    return ok, errors, calls


def main() -> None:
    a = _args()
    print(json.dumps({"ready": True}), flush=True)
    if not a.no_barrier:
        sys.stdin.readline()  # all workers start together, as in the seeds
    ok, errors, calls = _sync(a) if a.face == "sync" else asyncio.run(_async(a))
    print(json.dumps({"ok": ok, "errors": dict(errors), "calls": calls}), flush=True)


if __name__ == "__main__":
    main()
