"""The metrics port when --status-page is on: /metrics (prometheus_client's own aiohttp handler,
the same output as its thread server) plus the live status page, on grpc.aio's event loop.

    GET /status                  the page (HTML; its script and style under /status/assets/)
    GET /status/locks?prefix=P   JSON: {"now", "locks": [...]} for keys starting with P
    GET /status/events?prefix=P  Server-Sent Events: `snapshot` (the same JSON), then one
                                 `lock` event per changed key ({"key", "lock": null when
                                 released}), comments as keep-alives

Every asset ships inside the package (no CDN, no build step). With auth on, /status/locks and
/status/events need `authorization: Bearer <JWT or API key>` like any call (the page sends it
with fetch(), never in a URL); any role may look; a tenant's credential sees its own keys only,
named as that tenant names them; admin sees every tenant's, as stored ("<tenant>/<key>"). The
page's static files hold no data and need no credential. Config refuses the page with auth on
a non-loopback metrics address: this port has no TLS, and a bearer credential must not cross
the network in clear text.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import json
import logging
import time
from typing import Any

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from threadlock.auth.tenancy import ROLE_RPCS, SEPARATOR, record
from threadlock.auth.verify import Authenticator
from threadlock.errors import InvalidArgument, LockError, PermissionDenied, status_of
from threadlock.http_face import start_site
from threadlock.locks import LockManager
from threadlock.metrics import Metrics, split_address
from threadlock.status_board import Json, Scope, StatusBoard, Viewer
from threadlock.status_feed import HubFeed
from threadlock.timeouts import within
from threadlock.watch import EventHub

log = logging.getLogger("threadlock.status")

KEEPALIVE = 15.0  # seconds between SSE comments on a quiet stream (proxies drop idle ones)
MAX_PREFIX_BYTES = 512  # the longest key the coordinator accepts
ASSETS = {"status.js": "text/javascript", "status.css": "text/css",
          "index.html": "text/html"}
# The page loads nothing but its own files, and nothing may frame it.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_STATUS = {"UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "INVALID_ARGUMENT": 400}


def _asset(name: str) -> bytes:
    return (importlib.resources.files("threadlock") / "status_assets" / name).read_bytes()


class StatusPage:
    """The aiohttp app of the metrics port; `start` binds it, `stop` closes it."""

    def __init__(self, board: StatusBoard, metrics: Metrics,
                 authenticator: Authenticator | None) -> None:
        self.board = board
        self.authenticator = authenticator
        self.port = 0
        self.feed: asyncio.Task[None] | None = None  # what fills the board (status_feed.py)
        self._runner: web.AppRunner | None = None
        self._assets = {name: _asset(name) for name in ASSETS}
        app = web.Application()
        app.router.add_get("/metrics", make_aiohttp_handler(metrics.registry))
        app.router.add_get("/", self._home)
        app.router.add_get("/status", self._page)
        app.router.add_get("/status/assets/{name}", self._static)
        app.router.add_get("/status/locks", self._locks)
        app.router.add_get("/status/events", self._events)
        self.app = app

    async def start(self, listen: str) -> int:
        """Listen on `listen` (host:port); return the bound port. Raises OSError."""
        host, port = split_address(listen)
        # handler_cancellation: a browser that goes away ends its event stream at once.
        runner = web.AppRunner(self.app, handler_cancellation=True, access_log=None,
                               shutdown_timeout=1.0)
        self.port = await start_site(runner, host, port)
        self._runner = runner
        return self.port

    @classmethod
    async def start_with_feed(cls, listen: str, metrics: Metrics, hub: EventHub,
                              manager: LockManager, authenticator: Authenticator | None,
                              timeout: float) -> StatusPage:
        """The page on `listen` and the feed that keeps its board current from `hub` (stop
        the feed with `stop_feed` before the hub and the store close, then `stop`)."""
        page = cls(StatusBoard(), metrics, authenticator)
        await page.start(listen)
        feed = HubFeed(hub, manager, timeout=timeout)
        page.feed = asyncio.create_task(feed.run(page.board), name="threadlock-status-feed")
        return page

    async def stop_feed(self) -> None:
        if self.feed is not None:
            self.feed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.feed

    async def stop(self) -> None:
        await self.stop_feed()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()  # open event streams are cancelled after shutdown_timeout

    # Static ---------------------------------------------------------------------------------
    async def _home(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/status")

    async def _page(self, request: web.Request) -> web.StreamResponse:
        return self._file("index.html")

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in ASSETS or name == "index.html":
            raise web.HTTPNotFound()
        return self._file(name)

    def _file(self, name: str) -> web.Response:
        return web.Response(body=self._assets[name], content_type=ASSETS[name],
                            charset="utf-8", headers=SECURITY_HEADERS)

    # Data -----------------------------------------------------------------------------------
    async def _viewer(self, request: web.Request) -> Viewer:
        """Authenticate (auth on) and subscribe a viewer for the request's ?prefix=."""
        prefix = request.query.get("prefix", "")
        if len(prefix.encode()) > MAX_PREFIX_BYTES or not prefix.isprintable():
            raise InvalidArgument("prefix", f"must be printable and at most "
                                            f"{MAX_PREFIX_BYTES} bytes")
        scope = Scope()
        if self.authenticator is not None:
            try:
                p = await self.authenticator.authenticate(
                    request.headers.get("authorization"), [])
                if "Status" not in ROLE_RPCS.get(p.role, frozenset()):
                    raise PermissionDenied(f"role {p.role!r} may not view locks")
            except LockError as exc:
                record("denied", None, "StatusPage", code=status_of(exc)[0].name,
                       reason=str(exc))
                raise
            if p.role != "admin":  # a tenant sees its own keys, named as it names them
                own = p.tenant + SEPARATOR
                scope = Scope(prefix=own, strip=own)
        return self.board.subscribe(scope, prefix)

    def _payload(self, viewer: Viewer) -> Json:
        return {"now": time.time(), "locks": self.board.snapshot(viewer),
                "synced": self.board.synced, "error": self.board.feed_error}

    async def _locks(self, request: web.Request) -> web.StreamResponse:
        try:
            viewer = await self._viewer(request)
        except LockError as exc:
            return _refusal(exc)
        try:
            return web.json_response(self._payload(viewer), headers=SECURITY_HEADERS)
        finally:
            self.board.unsubscribe(viewer)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        try:
            viewer = await self._viewer(request)
        except LockError as exc:
            return _refusal(exc)
        try:
            response = web.StreamResponse(headers={
                **SECURITY_HEADERS, "Content-Type": "text/event-stream",
                "X-Accel-Buffering": "no"})  # nginx-style proxies: do not buffer the stream
            await response.prepare(request)
            await _send(response, "snapshot", self._payload(viewer))
            while True:
                try:
                    change = await within(viewer.changes.get(), KEEPALIVE)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if viewer.resync.is_set():  # changes were dropped: start over from the state
                    await _send(response, "snapshot", self._payload(viewer))
                else:
                    await _send(response, "lock", {"now": time.time(), **change})
        finally:  # the browser went away (cancelled, or a write failed), or we stop
            self.board.unsubscribe(viewer)


async def _send(response: web.StreamResponse, event: str, data: Any) -> None:
    body = json.dumps(data, separators=(",", ":"))
    await response.write(f"event: {event}\ndata: {body}\n\n".encode())


def _refusal(exc: LockError) -> web.Response:
    code, message = status_of(exc)
    headers = dict(SECURITY_HEADERS)
    if code.name == "UNAUTHENTICATED":
        headers["WWW-Authenticate"] = 'Bearer realm="threadlock"'
    return web.json_response({"code": code.name.lower(), "message": message},
                             status=_STATUS.get(code.name, 500), headers=headers)
