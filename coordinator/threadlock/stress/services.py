"""What a stress run starts besides its workers: a fake OpenAI (in a thread of the driver), an
embedded coordinator (a `threadlock serve` subprocess on a free loopback port) and, for
`--backend etcd`, a throwaway etcd; and the conversations or threads the workers share.

Everything is entered on one `contextlib.ExitStack`, so it is stopped on every exit path
(error, Ctrl-C): the coordinator gets SIGTERM, then SIGKILL after a bounded wait.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from threadlock.local_etcd import EtcdServer, free_port
from threadlock.local_serve import wait_serving

START_TIMEOUT = 60.0  # worker and server start-up on 2 loaded cores

# The coordinator runs in its own session (terminal Ctrl-C reaches only the driver, which
# stops it in order) and dies with the driver's thread, even if the driver is SIGKILLed.
_SERVE = ("import ctypes, signal, sys\n"
          "try: ctypes.CDLL(None).prctl(1, signal.SIGKILL)\n"
          "except Exception: pass\n"
          "from threadlock.cli import main\n"
          "sys.exit(main(['serve']))\n")


class StartError(RuntimeError):
    """Something the run needs did not start; the message says what and where its log is."""


@contextlib.contextmanager
def fake_openai(call_seconds: float) -> Iterator[str]:
    """A fake OpenAI for the run; yields its base_url."""
    from threadlock.fake_openai import FakeOpenAI

    with FakeOpenAI.start_in_thread(response_seconds=call_seconds,
                                    run_seconds=call_seconds) as fake:
        yield fake.base_url


@contextlib.contextmanager
def coordinator(backend: str, workdir: Path) -> Iterator[str]:
    """An embedded `threadlock serve` (and etcd for backend "etcd"); yields its address."""
    env = {**os.environ, "THREADLOCK_LOG_FORMAT": "text", "THREADLOCK_LOG_LEVEL": "WARNING",
           "THREADLOCK_SHUTDOWN_GRACE": "2"}
    with contextlib.ExitStack() as stack:
        if backend == "etcd":
            # Dies with the driver, like the coordinator: a SIGKILLed run leaves no etcd behind.
            etcd = EtcdServer(workdir / "etcd", name="stress", die_with_parent=True)
            try:
                etcd.start()
            except RuntimeError as exc:
                raise StartError(f"etcd did not start: {exc}") from None
            stack.callback(etcd.stop)
            env["THREADLOCK_ETCD_ENDPOINTS"] = etcd.endpoint
        address = f"127.0.0.1:{free_port()}"
        env["THREADLOCK_LISTEN"] = address
        log_path = workdir / "coordinator.log"
        with log_path.open("w") as log:
            proc = subprocess.Popen([sys.executable, "-c", _SERVE], env=env,
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        stack.callback(_stop_process, proc)
        _wait_serving(address, proc, log_path)
        yield address


def _stop_process(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_serving(address: str, proc: subprocess.Popen[Any], log: Path) -> None:
    try:
        wait_serving(address, proc, START_TIMEOUT)
    except RuntimeError as exc:
        raise StartError(f"the embedded coordinator: {exc}:\n{log.read_text()[-2000:]}") from None


def workdir() -> contextlib.AbstractContextManager[str]:
    """A temporary directory for logs and etcd data, removed at the end."""
    return tempfile.TemporaryDirectory(prefix="threadlock-stress-")


def create_targets(base_url: str, api_key: str, api: str, count: int) -> list[str]:
    """New conversations (responses) or threads (assistants), created with the real openai
    client, so every run starts on fresh ones."""
    import openai

    client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=1, timeout=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # beta.threads
        try:
            return [client.conversations.create().id if api == "responses"
                    else client.beta.threads.create().id for _ in range(count)]
        except openai.OpenAIError as exc:  # unreachable URL, bad key: a message, no traceback
            raise StartError(f"could not create the {api} targets at {base_url}: "
                             f"{type(exc).__name__}: {exc}") from None


def fake_stats(base_url: str) -> dict[str, Any] | None:
    """The fake's stats document, or None when `base_url` is not a fake (e.g. real OpenAI)."""
    from threadlock.fake_openai import stats_at

    try:
        return stats_at(base_url)
    except (OSError, ValueError):
        return None
