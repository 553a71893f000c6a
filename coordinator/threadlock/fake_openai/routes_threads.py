"""HTTP routes for the Assistants API (threads, messages, runs) under /v1/threads."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from threadlock.fake_openai import errors
from threadlock.fake_openai.app import (
    STATE,
    json_body,
    list_query,
    opt_bool,
    opt_str,
    req_str,
    stream_events,
)
from threadlock.fake_openai.sse import RunStreamer
from threadlock.fake_openai.state import FakeState, metadata_arg


def _tid(request: web.Request) -> str:
    return request.match_info["thread_id"]


def _state(request: web.Request) -> FakeState:
    return request.app[STATE]


async def create_thread(request: web.Request) -> web.Response:
    body = await json_body(request)
    return web.json_response(_state(request).threads.create_thread(
        body.get("messages"), metadata_arg(body.get("metadata"))))


async def get_thread(request: web.Request) -> web.Response:
    return web.json_response(_state(request).threads.get_thread(_tid(request)))


async def update_thread(request: web.Request) -> web.Response:
    body = await json_body(request)
    return web.json_response(_state(request).threads.update_thread(
        _tid(request), metadata_arg(body.get("metadata"))))


async def delete_thread(request: web.Request) -> web.Response:
    return web.json_response(_state(request).threads.delete_thread(_tid(request)))


async def create_message(request: web.Request) -> web.Response:
    body = await json_body(request)
    return web.json_response(_state(request).threads.add_message(_tid(request), body))


async def list_messages(request: web.Request) -> web.Response:
    return web.json_response(_state(request).threads.list_messages(
        _tid(request), **list_query(request), before=request.query.get("before"),
        run_id=request.query.get("run_id")))


async def get_message(request: web.Request) -> web.Response:
    return web.json_response(_state(request).threads.get_message(
        _tid(request), request.match_info["message_id"]))


async def _start_run(request: web.Request, thread_id: str, body: dict[str, Any]
                     ) -> web.StreamResponse:
    state = _state(request)
    run = state.threads.create_run(
        thread_id, assistant_id=req_str(body, "assistant_id"), model=opt_str(body, "model"),
        instructions=opt_str(body, "instructions"),
        additional_messages=body.get("additional_messages"),
        metadata=metadata_arg(body.get("metadata")))
    if opt_bool(body, "stream"):
        return await stream_events(request, RunStreamer(state.core, state.threads, run))
    return web.json_response(state.threads.run_json(run))


async def create_run(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    req_str(body, "assistant_id")  # checked before anything changes
    return await _start_run(request, _tid(request), body)


async def create_thread_and_run(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    req_str(body, "assistant_id")
    thread = body.get("thread") or {}
    if not isinstance(thread, dict):
        raise errors.invalid_type("thread", "an object", thread)
    created = _state(request).threads.create_thread(
        thread.get("messages"), metadata_arg(thread.get("metadata"), "thread.metadata"))
    return await _start_run(request, created["id"], body)


async def list_runs(request: web.Request) -> web.Response:
    return web.json_response(_state(request).threads.list_runs(
        _tid(request), **list_query(request), before=request.query.get("before")))


async def get_run(request: web.Request) -> web.Response:
    threads = _state(request).threads
    return web.json_response(threads.run_json(threads.get_run(
        _tid(request), request.match_info["run_id"])))


async def cancel_run(request: web.Request) -> web.Response:
    threads = _state(request).threads
    return web.json_response(threads.run_json(threads.cancel_run(
        _tid(request), request.match_info["run_id"])))


def add_routes(router: web.UrlDispatcher) -> None:
    # Before /v1/threads/{thread_id}, which would match "runs" as a thread id.
    router.add_post("/v1/threads/runs", create_thread_and_run)
    router.add_post("/v1/threads", create_thread)
    router.add_get("/v1/threads/{thread_id}", get_thread)
    router.add_post("/v1/threads/{thread_id}", update_thread)
    router.add_delete("/v1/threads/{thread_id}", delete_thread)
    router.add_post("/v1/threads/{thread_id}/messages", create_message)
    router.add_get("/v1/threads/{thread_id}/messages", list_messages)
    router.add_get("/v1/threads/{thread_id}/messages/{message_id}", get_message)
    router.add_post("/v1/threads/{thread_id}/runs", create_run)
    router.add_get("/v1/threads/{thread_id}/runs", list_runs)
    router.add_get("/v1/threads/{thread_id}/runs/{run_id}", get_run)
    router.add_post("/v1/threads/{thread_id}/runs/{run_id}/cancel", cancel_run)
