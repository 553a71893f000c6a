"""A TCP relay that makes a coordinator's answer arrive late, for real: it sits between an SDK
and the coordinator (its gRPC port, or its HTTP face's port for the HTTP SDKs) and, while
armed, holds the coordinator's bytes back for `delay` seconds. Used by tests/test_late_grant.py
(asyncio) and by the cross-SDK conformance scenario (`relay_in_thread`, for synchronous tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Coroutine, Iterator
from typing import Any

DELAY = 4.0  # longer than the 2 s TTL the tests use: the grant lapses before its answer lands


class SlowRelay:
    """Forwards client bytes at once; coordinator bytes that arrive while `armed` (and all
    that queue behind them, so the stream stays in order) are held back for `delay` seconds.
    Arming is one-shot: the first coordinator chunk after it disarms the relay."""

    def __init__(self, upstream: str, delay: float = DELAY) -> None:
        self.host, port = upstream.rsplit(":", 1)
        self.port = int(port)
        self.delay = delay
        self.armed = False
        self.held_back = 0  # chunks delayed so far: the test checks the relay did its job
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.close()
            return
        self._spawn(self._pipe(reader, up_w, delayed=False))
        self._spawn(self._pipe(up_r, writer, delayed=True))

    async def _pipe(self, r: asyncio.StreamReader, w: asyncio.StreamWriter,
                    delayed: bool) -> None:
        release_at = 0.0
        try:
            while chunk := await r.read(65536):
                if delayed and self.armed:
                    self.armed = False  # this chunk, and everything queued behind it
                    self.held_back += 1
                    release_at = time.monotonic() + self.delay
                if delayed and release_at > time.monotonic():
                    await asyncio.sleep(release_at - time.monotonic())
                w.write(chunk)
                await w.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                w.close()


@contextlib.contextmanager
def relay_in_thread(upstream: str, delay: float = DELAY) -> Iterator[tuple[SlowRelay, str]]:
    """A SlowRelay running on an event loop of its own thread, and its address. `armed` may
    be set from the test's thread (a plain attribute the loop reads per chunk)."""
    relay = SlowRelay(upstream, delay)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True, name="slow relay")
    thread.start()
    try:
        address = asyncio.run_coroutine_threadsafe(relay.start(), loop).result(timeout=10)
        try:
            yield relay, address
        finally:
            asyncio.run_coroutine_threadsafe(relay.close(), loop).result(timeout=10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
