"""HTTP routes for responses, conversations and files (OpenAI's paths under /v1)."""

from __future__ import annotations

from typing import Any

from aiohttp import BodyPartReader, web

from threadlock.fake_openai import errors
from threadlock.fake_openai.app import (
    NOTIFIER,
    STATE,
    json_body,
    list_query,
    opt_bool,
    opt_str,
    req_str,
    stream_events,
)
from threadlock.fake_openai.sse import ResponseStreamer
from threadlock.fake_openai.state import metadata_arg


def _conversation_arg(value: object) -> str | None:
    """`conversation` may be an id or {"id": ...}."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("id")
        if value is None:
            raise errors.missing("conversation.id")
    if not isinstance(value, str) or not value:
        raise errors.invalid_type("conversation", "a conversation id or an object with an id",
                                  value)
    return value


async def create_response(request: web.Request) -> web.StreamResponse:
    state, body = request.app[STATE], await json_body(request)
    model = req_str(body, "model")
    if body.get("input") is None:
        raise errors.missing("input")
    stream = opt_bool(body, "stream")
    store = state.conversations
    rec = store.create_response(
        model=model, input=body["input"], conversation=_conversation_arg(body.get("conversation")),
        background=opt_bool(body, "background"), metadata=metadata_arg(body.get("metadata")),
        instructions=opt_str(body, "instructions"))
    if stream:
        return await stream_events(request, ResponseStreamer(state.core, store, rec))
    if not rec.background:  # a sync request holds its conversation for its whole duration
        notifier = request.app[NOTIFIER]
        while store.get_response(rec.id).final is None:
            await notifier.wait(state.next_due())
    return web.json_response(store.response_json(rec))


async def get_response(request: web.Request) -> web.Response:
    store = request.app[STATE].conversations
    rec = store.get_response(request.match_info["response_id"])
    return web.json_response(store.response_json(rec))


async def cancel_response(request: web.Request) -> web.Response:
    store = request.app[STATE].conversations
    rec = store.cancel_response(request.match_info["response_id"])
    return web.json_response(store.response_json(rec))


async def create_conversation(request: web.Request) -> web.Response:
    body = await json_body(request)
    store = request.app[STATE].conversations
    return web.json_response(store.create_conversation(body.get("items"),
                                                       metadata_arg(body.get("metadata"))))


def _cid(request: web.Request) -> str:
    return request.match_info["conversation_id"]


async def get_conversation(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].conversations.get_conversation(_cid(request)))


async def update_conversation(request: web.Request) -> web.Response:
    body = await json_body(request)
    if body.get("metadata") is None:
        raise errors.missing("metadata")
    return web.json_response(request.app[STATE].conversations.update_conversation(
        _cid(request), metadata_arg(body["metadata"])))


async def delete_conversation(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].conversations.delete_conversation(
        _cid(request)))


async def list_items(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].conversations.list_items(
        _cid(request), **list_query(request)))


async def get_item(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].conversations.get_item(
        _cid(request), request.match_info["item_id"]))


async def add_items(request: web.Request) -> web.Response:
    body = await json_body(request)
    return web.json_response(request.app[STATE].conversations.add_items(
        _cid(request), body.get("items")))


async def upload_file(request: web.Request) -> web.Response:
    """multipart/form-data with `file` and `purpose`; the content is counted, not kept."""
    if not request.content_type.startswith("multipart/"):
        raise errors.ApiError(400, "Expected a multipart/form-data body with 'file' and "
                              "'purpose'.", param="file")
    form: dict[str, Any] = {}
    size, filename = None, "upload"
    async for part in await request.multipart():
        if not isinstance(part, BodyPartReader):  # nested multipart: not OpenAI's
            continue
        if part.name == "file":
            filename = part.filename or filename
            size = len(await part.read())
        elif part.name:
            form[part.name] = await part.text()
    if size is None:
        raise errors.missing("file")
    purpose = form.get("purpose")
    if not purpose:
        raise errors.missing("purpose")
    return web.json_response(request.app[STATE].add_file(filename, size, purpose))


async def get_file(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].get_file(request.match_info["file_id"]))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/v1/responses", create_response)
    router.add_get("/v1/responses/{response_id}", get_response)
    router.add_post("/v1/responses/{response_id}/cancel", cancel_response)
    router.add_post("/v1/conversations", create_conversation)
    router.add_get("/v1/conversations/{conversation_id}", get_conversation)
    router.add_post("/v1/conversations/{conversation_id}", update_conversation)
    router.add_delete("/v1/conversations/{conversation_id}", delete_conversation)
    router.add_get("/v1/conversations/{conversation_id}/items", list_items)
    router.add_post("/v1/conversations/{conversation_id}/items", add_items)
    router.add_get("/v1/conversations/{conversation_id}/items/{item_id}", get_item)
    router.add_post("/v1/files", upload_file)
    router.add_get("/v1/files/{file_id}", get_file)
