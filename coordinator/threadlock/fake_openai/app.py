"""The aiohttp application: OpenAI's routes under /v1 (routes_*.py), control routes under
/_fake, OpenAI-shaped errors, request counting, and the change notifier that wakes streams and
blocked sync requests when another request changed the state (e.g. a cancel).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from threadlock.fake_openai import errors
from threadlock.fake_openai.sse import Event, encode
from threadlock.fake_openai.state import FakeState

log = logging.getLogger("threadlock.fake_openai")
POLL_AFTER_MS = "50"  # openai's poll helpers (create_and_poll) wait this long between polls
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Notifier:
    """Wakes every waiter when the state changed, or when its deadline (clock time) passed."""

    def __init__(self, state: FakeState) -> None:
        self._state = state
        self._event = asyncio.Event()

    def changed(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, until: float | None) -> None:
        event = self._event
        timeout = None if until is None else max(0.0, until - self._state.core.now())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()


STATE = web.AppKey("state", FakeState)
NOTIFIER = web.AppKey("notifier", Notifier)


def error_response(error: errors.ApiError) -> web.Response:
    # x-should-retry: the openai client would otherwise retry some statuses by itself.
    return web.json_response(error.body(), status=error.status,
                             headers={"x-should-retry": "false"})


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    resource = request.match_info.route.resource  # None: no route matched
    state.count_request("unmatched" if resource is None
                        else f"{request.method} {resource.canonical}")
    try:
        response = await handler(request)
    except errors.ApiError as exc:
        response = error_response(exc)
    except web.HTTPNotFound:
        response = error_response(errors.ApiError(
            404, f"Invalid URL ({request.method} {request.path})"))
    except web.HTTPMethodNotAllowed:
        response = error_response(errors.ApiError(
            405, f"Method not allowed ({request.method} {request.path})"))
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("fake OpenAI failed on %s %s", request.method, request.path)
        response = error_response(errors.ApiError(500, "The fake OpenAI server failed; see "
                                                  "its log.", kind="server_error"))
    if request.method != "GET":
        request.app[NOTIFIER].changed()
    if not response.prepared:
        response.headers.setdefault("x-request-id", state.core.new_id("req_"))
        if request.method == "GET":
            response.headers["openai-poll-after-ms"] = POLL_AFTER_MS
    return response


# --- request parsing -------------------------------------------------------------------------
async def json_body(request: web.Request) -> dict[str, Any]:
    """The JSON object body; an empty body is {}. Raises ApiError 400 otherwise."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.ApiError(400, "We could not parse the JSON body of your request. The "
                              "OpenAI API expects a JSON payload.") from None
    if not isinstance(body, dict):
        raise errors.ApiError(400, "The request body must be a JSON object.")
    return body


def req_str(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        raise errors.missing(name)
    if not isinstance(value, str):
        raise errors.invalid_type(name, "a string", value)
    if not value:
        raise errors.invalid_value(name, "must not be empty.")
    return value


def opt_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise errors.invalid_type(name, "a string", value)
    return value


def opt_bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise errors.invalid_type(name, "a boolean", value)
    return bool(value)


def list_query(request: web.Request) -> dict[str, Any]:
    """order/limit/after(/before) of a list call, checked."""
    q = request.query
    order = q.get("order", "desc")
    if order not in ("asc", "desc"):
        raise errors.invalid_value("order", f"expected asc or desc, got {order!r}.")
    try:
        limit = int(q.get("limit", "20"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        raise errors.invalid_value("limit", f"expected an integer from 1 to 100, got "
                                   f"{q.get('limit')!r}.")
    return {"order": order, "limit": limit, "after": q.get("after")}


async def stream_events(request: web.Request, streamer: Any) -> web.StreamResponse:
    """Send `streamer`'s events (sse.ResponseStreamer or RunStreamer) as they fall due."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                           "Cache-Control": "no-cache"})
    await response.prepare(request)
    notifier = request.app[NOTIFIER]
    while True:
        try:
            events: list[Event] = streamer.poll()
        except errors.ApiError as exc:  # e.g. its thread was deleted meanwhile
            events = [("error", json.dumps(exc.body()))]
            streamer.done = True
        for event in events:
            await response.write(encode(*event))
        if streamer.done:
            break
        await notifier.wait(streamer.next_time())
    await response.write_eof()
    return response


# --- control routes --------------------------------------------------------------------------
async def _stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].stats())


async def _reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    return web.json_response({"reset": True})


async def _config(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.config.update(await json_body(request))
    return web.json_response(state.stats()["config"])


def create_app(state: FakeState) -> web.Application:
    """The fake as an aiohttp application over `state` (see the package docstring)."""
    from threadlock.fake_openai import routes_responses, routes_threads

    app = web.Application(middlewares=[_middleware])
    app[STATE] = state
    app[NOTIFIER] = Notifier(state)
    app.router.add_get("/_fake/stats", _stats)
    app.router.add_post("/_fake/reset", _reset)
    app.router.add_post("/_fake/config", _config)
    routes_responses.add_routes(app.router)
    routes_threads.add_routes(app.router)
    return app
