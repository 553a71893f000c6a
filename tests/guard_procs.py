"""What the guard's process tests share, whatever language the workers are written in
(tests/guard_worker.py for Python, clients/typescript/test/openai-worker.mjs for Node): a fake
OpenAI with calls long enough to collide, workers started behind a barrier and released at
once, and their one-line JSON results."""

from __future__ import annotations

import contextlib
import json
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai

from threadlock.fake_openai import FakeOpenAI


@contextlib.contextmanager
def colliding_fake() -> Iterator[FakeOpenAI]:
    """Responses and runs of 0.2 s: long enough that 8 workers released at once collide."""
    with FakeOpenAI.start_in_thread(response_seconds=0.2, run_seconds=0.2) as f:
        yield f


def worker_args(extra: dict[str, str], barrier: bool) -> list[str]:
    """The options every worker takes besides its own: `--some-name value`, `--no-barrier`."""
    args: list[str] = []
    for k, v in extra.items():
        args += [f"--{k.replace('_', '-')}", v]
    if not barrier:
        args.append("--no-barrier")
    return args


def start_worker(args: list[str], cwd: Path | None = None,
                 env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """A worker process, once it says it is ready (started, imports done)."""
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline()) == {"ready": True}
    return proc


def start_together(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    """Release workers that all wait at the barrier at once; their results."""
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    return run_workers(procs)


def run_workers(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    """Each worker's result (its last stdout line); each must exit 0."""
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0, out
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def new_target(fake: FakeOpenAI, api: str) -> str:
    """A fresh conversation (responses) or thread (assistants) at the fake."""
    client = openai.OpenAI(base_url=fake.base_url, api_key="test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return (client.conversations.create().id if api == "responses"
                else client.beta.threads.create().id)
