"""Running the fake: in the current event loop (`serve()`), in a background thread with its
own loop (`start_in_thread()`, for sync tests and multi-process tools), or as
`threadlock fake-openai` (cli.py). Helpers reach a fake in another process over HTTP.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from threadlock.fake_openai.app import create_app
from threadlock.fake_openai.state import Config, FakeState

_T = TypeVar("_T")
_STOP_SECONDS = 10.0  # bound on start/stop/control calls across threads


class FakeOpenAI:
    """One fake OpenAI server on `host:port` (port 0: a free one).

    Durations (seconds, float("inf") allowed) are the defaults for operations that do not
    set `metadata["fake_seconds"]`. Example:

        with FakeOpenAI.start_in_thread(run_seconds=0.3) as fake:
            client = OpenAI(base_url=fake.base_url, api_key="test")
            ...
            assert fake.stats()["conflicts_total"] == 0
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0,
                 response_seconds: float = 0.2, run_seconds: float = 0.2,
                 cancel_seconds: float = 0.05) -> None:
        self.host, self.port = host, port
        self.state = FakeState(Config(response_seconds, run_seconds, cancel_seconds))
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # --- addresses -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """http://HOST:PORT (the control routes live under /_fake)."""
        if self._runner is None:
            raise RuntimeError("the fake OpenAI server is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass to OpenAI(base_url=...)."""
        return self.url + "/v1"

    # --- in the current loop ---------------------------------------------------------------
    async def start(self) -> None:
        """Bind and serve; raises OSError when the address is taken."""
        runner = web.AppRunner(create_app(self.state), shutdown_timeout=1.0,
                               handler_cancellation=True, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self.port = runner.addresses[0][1]
        self._runner = runner
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        """Stop serving; open streams are cut (within about a second)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[FakeOpenAI]:
        """`async with FakeOpenAI().serve() as fake:` serves in the running loop."""
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    # --- in a thread -----------------------------------------------------------------------
    @classmethod
    def start_in_thread(cls, **options: Any) -> FakeOpenAI:
        """Start a fake (options as for the constructor) in a daemon thread with its own
        event loop; use it as a context manager or call close(). Raises what start raised."""
        fake = cls(**options)
        loop = asyncio.new_event_loop()
        started: concurrent.futures.Future[None] = concurrent.futures.Future()

        def main() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(fake.start())
            except BaseException as exc:
                started.set_exception(exc)
                loop.close()
                return
            started.set_result(None)
            loop.run_forever()
            loop.run_until_complete(fake.stop())
            loop.close()

        fake._thread = threading.Thread(target=main, name="fake-openai", daemon=True)
        fake._thread.start()
        started.result(_STOP_SECONDS)
        return fake

    def close(self) -> None:
        """Stop a fake started by start_in_thread (idempotent)."""
        thread, self._thread = self._thread, None
        if thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        thread.join(_STOP_SECONDS)

    def __enter__(self) -> FakeOpenAI:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # --- control ---------------------------------------------------------------------------
    def _call(self, fn: Callable[[], _T]) -> _T:
        """Run `fn` on the fake's loop thread (the state is not thread-safe)."""
        loop = self._loop
        if self._thread is None or loop is None:
            return fn()  # same loop as the caller: no other thread touches the state

        async def call() -> _T:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), loop).result(_STOP_SECONDS)

    def stats(self) -> dict[str, Any]:
        """The stats document (see the package docstring)."""
        return self._call(self.state.stats)

    def reset(self) -> None:
        """Forget all objects and counters; durations stay."""
        self._call(self.state.reset)

    def configure(self, **durations: float) -> None:
        """Change response_seconds / run_seconds / cancel_seconds; ApiError names a bad one."""
        self._call(lambda: self.state.config.update(durations))


def _control(url: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    root = url.rstrip("/").removesuffix("/v1")
    data = None if body is None and path == "stats" else json.dumps(body or {}).encode()
    request = urllib.request.Request(f"{root}/_fake/{path}", data=data,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=_STOP_SECONDS) as response:
            result: dict[str, Any] = json.load(response)
    except urllib.error.HTTPError as exc:  # the fake's own error message names the field
        try:
            message = json.load(exc)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = str(exc)
        raise ValueError(f"fake OpenAI /_fake/{path}: {message}") from None
    return result


def stats_at(url: str) -> dict[str, Any]:
    """Stats of a fake in another process; `url` is its base_url or root URL."""
    return _control(url, "stats")


def reset_at(url: str) -> None:
    """Forget all objects and counters of a fake in another process."""
    _control(url, "reset", {})


def configure_at(url: str, **durations: float | str) -> dict[str, Any]:
    """Set durations of a fake in another process; returns the new config. Raises ValueError
    (naming the field) when the fake refuses, OSError when it cannot be reached."""
    return _control(url, "config", dict(durations))
