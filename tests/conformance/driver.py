"""The driver's side of tests/conformance/PROTOCOL.md: one adapter process, spoken to in JSON
lines, where every answer has a deadline. A hung or crashed adapter fails the test at once
with its stderr, instead of hanging the suite.

    proc = AdapterProcess(adapter, log_dir, "holder")
    proc.ok({"cmd": "init", ...})                 # asserts ok, returns the answer
    proc.send({"cmd": "acquire", ..., "wait": 30})  # blocks in the adapter: answer later
    answer = proc.recv()
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pytest
from sdk_adapters import ROOT, Adapter

Answer = dict[str, Any]
T = TypeVar("T")

BASE_TIMEOUT = 20.0  # per command, on top of the time the command itself asks to take
EXIT_TIMEOUT = 20.0  # after stdin closes: the client's close is bounded by its own timeouts


def budget(command: dict[str, Any]) -> float:
    """How long an answer to `command` may take: its own wait/hold/timeout, plus slack."""
    own = sum(float(command.get(f) or 0) for f in ("wait", "seconds", "timeout"))
    return BASE_TIMEOUT + own


class AdapterProcess:
    """One running adapter (one SDK client). Commands are answered in order; `pending` lists
    what was sent and not yet answered."""

    def __init__(self, adapter: Adapter, log_dir: Path, name: str) -> None:
        self.adapter = adapter
        self.name = name
        self.owner = ""  # set by whoever sends init
        self.exit_timeout = EXIT_TIMEOUT
        self.stderr_path = log_dir / f"{adapter.name}-{name}.stderr"
        self.pending: list[tuple[dict[str, Any], float]] = []  # (command, its deadline)
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._stderr = self.stderr_path.open("w")
        self.proc = subprocess.Popen(
            list(adapter.argv), cwd=ROOT, env={**os.environ, **adapter.env}, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, bufsize=1)
        threading.Thread(target=self._read, daemon=True, name=f"adapter {name}").start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._answers.put(line)
        self._answers.put(None)  # EOF: the adapter exited (or closed stdout)

    def stderr(self) -> str:
        text = self.stderr_path.read_text(errors="replace")
        return text[-6000:]

    def fail(self, what: str) -> NoReturn:
        """Fail the test, showing what the adapter was doing and its stderr."""
        pytest.fail(f"adapter {self.adapter.name}/{self.name}: {what}\n"
                    f"pending: {[c for c, _ in self.pending]}\n"
                    f"exit code: {self.proc.poll()}\n--- stderr (tail) ---\n{self.stderr()}",
                    pytrace=False)

    # --- wire ---------------------------------------------------------------------------------
    def send(self, command: dict[str, Any], timeout: float | None = None) -> None:
        """Write a command; its answer is read by `recv` (within `timeout`, default `budget`)."""
        assert self.proc.stdin is not None
        deadline = time.monotonic() + (timeout if timeout is not None else budget(command))
        self.pending.append((command, deadline))
        try:
            self.proc.stdin.write(json.dumps(command) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            self.fail(f"could not send {command}: {exc}")

    def recv(self) -> Answer:
        """The answer to the oldest pending command."""
        if not self.pending:
            raise AssertionError("recv() without a pending command")
        command, deadline = self.pending[0]
        line: str | None = ""
        with contextlib.suppress(queue.Empty):
            line = self._answers.get(timeout=max(deadline - time.monotonic(), 0.0))
        if line == "":
            self.fail(f"no answer to {command['cmd']} in time (a hang?)")
        if line is None:
            self.fail(f"exited before answering {command['cmd']}")
        try:
            answer: Answer = json.loads(line)
        except ValueError:
            self.fail(f"answered {command['cmd']} with a line that is not JSON: {line!r}")
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            self.fail(f"answered {command['cmd']} without a boolean 'ok': {line!r}")
        self.pending.pop(0)
        return answer

    def answered(self) -> bool:
        """Whether an answer (or EOF) is waiting to be read, without blocking."""
        return not self._answers.empty()

    def request(self, command: dict[str, Any], timeout: float | None = None) -> Answer:
        """Send and receive. An `Internal` answer (an adapter or SDK bug) fails the test."""
        self.send(command, timeout)
        answer = self.recv()
        if not answer["ok"] and answer["error"].get("type") == "Internal":
            self.fail(f"Internal error answering {command}: {answer['error']}")
        return answer

    def ok(self, command: dict[str, Any], timeout: float | None = None) -> Answer:
        answer = self.request(command, timeout)
        if not answer["ok"]:
            self.fail(f"{command} failed: {answer['error']}")
        return answer

    def error(self, command: dict[str, Any], *types: str,
              timeout: float | None = None) -> dict[str, Any]:
        """The error `command` must answer with, one of `types`."""
        answer = self.request(command, timeout)
        if answer["ok"]:
            self.fail(f"{command} should have failed with {types}, answered {answer}")
        error: dict[str, Any] = answer["error"]
        if error.get("type") not in types:
            self.fail(f"{command} should have failed with {types}, answered {error}")
        return error

    # --- end ----------------------------------------------------------------------------------
    def close(self) -> None:
        """Close stdin: the adapter must close its client and exit 0. With commands still
        unanswered the test has failed (or gave up on them): just stop the process."""
        if self.pending:
            self.kill()
            self._stderr.close()
            return
        if self.proc.poll() is None and self.proc.stdin is not None:
            with contextlib.suppress(OSError):  # it may have exited already
                self.proc.stdin.close()
        try:
            code = self.proc.wait(timeout=self.exit_timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.fail(f"did not exit within {self.exit_timeout}s after stdin closed")
        finally:
            self._stderr.close()
        if code != 0:
            self.fail(f"exited {code} after stdin closed (must exit 0)")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def eventually(check: Callable[[], T], timeout: float = 15.0, interval: float = 0.1,
               what: str = "condition") -> T:
    """Poll `check` until it returns something truthy; fail after a generous `timeout`."""
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what} not met within {timeout}s (last: {value!r})")
        time.sleep(interval)


class Workers:
    """The adapter processes of one test (one SDK), each initialised as one worker; all are
    closed at the test's end, and each must then exit 0."""

    def __init__(self, adapter: Adapter, log_dir: Path, tag: str) -> None:
        self.adapter = adapter
        self.log_dir = log_dir
        self.tag = tag
        self.started: list[AdapterProcess] = []

    def spawn(self, name: str) -> AdapterProcess:
        """A fresh adapter process, not initialised yet."""
        proc = AdapterProcess(self.adapter, self.log_dir, name)
        self.started.append(proc)
        return proc

    def start(self, name: str, addresses: list[str], **init: Any) -> AdapterProcess:
        """An adapter initialised as worker `name` (owner "<name>-<tag>" unless given);
        `init` adds fields of the init command (session, tls, call_timeout, ...)."""
        proc = self.spawn(name)
        proc.owner = init.pop("owner", f"{name}-{self.tag}")
        answer = proc.ok({"cmd": "init", "addresses": addresses, "owner": proc.owner, **init})
        assert isinstance(answer.get("sdk"), str) and answer["sdk"], answer
        return proc

    def close_all(self) -> None:
        failures: list[BaseException] = []
        for proc in self.started:
            try:
                proc.close()
            except BaseException as exc:  # close every one, then report
                proc.kill()
                failures.append(exc)
        if failures:
            raise failures[0]
