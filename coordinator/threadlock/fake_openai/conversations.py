"""Conversations, their items, and responses (part of the I/O-free state, see state.py).

Busy rule (OpenAI's): a conversation is busy while a response on it is not terminal. A sync
response is in flight for its duration, a background one until it ends, a streamed one until
its stream's last event (the same duration). Creating a response or adding items to a busy
conversation raises `conversation_locked` (HTTP 400) and counts a conflict.

A completed response appends its input items, then one assistant message "echo: <input text>",
to its conversation, so tests can check order. Cancelled or failed responses append nothing.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from threadlock.fake_openai import errors
from threadlock.fake_openai.state import Core

QUEUED_SECONDS = 0.05  # background responses (and runs) stay `queued` this long at most
TERMINAL = ("completed", "failed", "cancelled", "incomplete")
_ROLES = ("user", "assistant", "system", "developer")


@dataclasses.dataclass
class ResponseRec:
    id: str
    created: float  # clock time
    duration: float
    background: bool
    model: str
    conversation_id: str | None
    input_items: list[dict[str, Any]]
    output_text: str
    output_item_id: str
    metadata: dict[str, str]
    outcome: str
    instructions: str | None = None
    final: str | None = None  # terminal status once ended
    ended: float | None = None

    @property
    def due(self) -> float:
        return self.created + self.duration

    def status(self, now: float) -> str:
        if self.final is not None:
            return self.final
        if self.background and now < self.created + min(QUEUED_SECONDS, self.duration / 4):
            return "queued"
        return "in_progress"

    def output_item(self, status: str = "completed", text: str | None = None) -> dict[str, Any]:
        return {"id": self.output_item_id, "type": "message", "role": "assistant",
                "status": status, "content": [] if text is None and status != "completed"
                else [output_text_part(self.output_text if text is None else text)]}


@dataclasses.dataclass
class ConversationRec:
    id: str
    created_at: int
    metadata: dict[str, str]
    items: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    active: list[str] = dataclasses.field(default_factory=list)  # response ids in flight

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "object": "conversation", "created_at": self.created_at,
                "metadata": self.metadata}


def output_text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def normalize_items(value: object, param: str, core: Core) -> list[dict[str, Any]]:
    """Input items as a conversation stores them (with ids); a string is one user message."""
    if isinstance(value, str):
        value = [{"role": "user", "content": value}]
    if not isinstance(value, list):
        raise errors.invalid_type(param, "a string or an array of input items", value)
    items = []
    for index, raw in enumerate(value):
        where = f"{param}[{index}]"
        if not isinstance(raw, dict):
            raise errors.invalid_type(where, "an object", raw)
        item = dict(raw)
        kind = item.setdefault("type", "message")
        if not isinstance(kind, str):
            raise errors.invalid_type(f"{where}.type", "a string", kind)
        if kind == "message":
            role = item.get("role")
            if role is None:
                raise errors.missing(f"{where}.role")
            if role not in _ROLES:
                raise errors.invalid_value(f"{where}.role", f"expected one of "
                                           f"{', '.join(_ROLES)}, got {role!r}.")
            content = item.get("content")
            if content is None:
                raise errors.missing(f"{where}.content")
            if isinstance(content, str):
                part = "output_text" if role == "assistant" else "input_text"
                item["content"] = [{"type": part, "text": content}]
            elif not isinstance(content, list) or not all(isinstance(p, dict) for p in content):
                raise errors.invalid_type(f"{where}.content", "a string or an array of "
                                          "content parts", content)
            item.setdefault("status", "completed")
        item.setdefault("id", core.new_id("msg_" if kind == "message" else "item_"))
        items.append(item)
    return items


def items_text(items: list[dict[str, Any]]) -> str:
    """The text parts of the messages, joined by spaces (what the fake echoes)."""
    texts = [part["text"] for item in items if item.get("type") == "message"
             for part in item.get("content", []) if isinstance(part.get("text"), str)]
    return " ".join(texts)


def page(data: list[dict[str, Any]], order: str, limit: int, after: str | None,
         before: str | None = None) -> dict[str, Any]:
    """An OpenAI cursor page over `data` (kept in creation order)."""
    rows = data if order == "asc" else list(reversed(data))
    ids = [row["id"] for row in rows]
    if after is not None:
        rows = rows[ids.index(after) + 1:] if after in ids else []
    if before is not None:
        rows = rows[:[row["id"] for row in rows].index(before)] if before in ids else []
    chosen = rows[:limit]
    return {"object": "list", "data": chosen,
            "first_id": chosen[0]["id"] if chosen else None,
            "last_id": chosen[-1]["id"] if chosen else None,
            "has_more": len(rows) > limit}


class ConversationStore:
    def __init__(self, core: Core) -> None:
        self._core = core
        self.clear()

    def clear(self) -> None:
        self._conversations: dict[str, ConversationRec] = {}
        self._responses: dict[str, ResponseRec] = {}
        self._active: dict[str, ResponseRec] = {}

    # --- lifecycle -------------------------------------------------------------------------
    def advance(self) -> None:
        now = self._core.now()
        for rec in sorted((r for r in self._active.values() if r.due <= now),
                          key=lambda r: r.due):
            self._end(rec, rec.outcome, rec.due)

    def next_due(self) -> float | None:
        dues = [r.due for r in self._active.values() if math.isfinite(r.due)]
        return min(dues) if dues else None

    def active_ids(self) -> list[str]:
        return list(self._active)

    def _end(self, rec: ResponseRec, status: str, at: float) -> None:
        rec.final, rec.ended = status, at
        del self._active[rec.id]
        conv = self._conversations.get(rec.conversation_id or "")
        if conv is not None:
            conv.active.remove(rec.id)
            if status == "completed":
                conv.items.extend(rec.input_items)
                conv.items.append(rec.output_item())
        if status == "completed":
            self._core.completed["responses"] += 1
        elif status == "cancelled":
            self._core.cancelled["responses"] += 1

    # --- conversations ---------------------------------------------------------------------
    def _conversation(self, conversation_id: str) -> ConversationRec:
        self.advance()
        conv = self._conversations.get(conversation_id)
        if conv is None:
            raise errors.ApiError(404, f"Conversation with id '{conversation_id}' not found.",
                                  param="conversation_id")
        return conv

    def _claim(self, conv: ConversationRec) -> None:
        """Counts the attempt; raises conversation_locked while a response is in flight."""
        self._core.attempt("conversations", conv.id, len(conv.active))
        if conv.active:
            self._core.conflict("conversation_locked")
            raise errors.conversation_locked()

    def create_conversation(self, items: object, metadata: dict[str, str]) -> dict[str, Any]:
        normalized = [] if items is None else normalize_items(items, "items", self._core)
        if len(normalized) > 20:
            raise errors.invalid_value("items", "at most 20 items may be added at a time.")
        conv = ConversationRec(self._core.new_id("conv_"), self._core.unix(), metadata,
                               normalized)
        self._conversations[conv.id] = conv
        return conv.json()

    def get_conversation(self, conversation_id: str) -> dict[str, Any]:
        return self._conversation(conversation_id).json()

    def update_conversation(self, conversation_id: str, metadata: dict[str, str]
                            ) -> dict[str, Any]:
        conv = self._conversation(conversation_id)
        conv.metadata = metadata
        return conv.json()

    def delete_conversation(self, conversation_id: str) -> dict[str, Any]:
        self._conversation(conversation_id)
        del self._conversations[conversation_id]
        return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}

    def list_items(self, conversation_id: str, *, order: str = "desc", limit: int = 20,
                   after: str | None = None) -> dict[str, Any]:
        return page(self._conversation(conversation_id).items, order, limit, after)

    def get_item(self, conversation_id: str, item_id: str) -> dict[str, Any]:
        for item in self._conversation(conversation_id).items:
            if item["id"] == item_id:
                return item
        raise errors.ApiError(404, f"Item with id '{item_id}' not found.", param="item_id")

    def add_items(self, conversation_id: str, items: object) -> dict[str, Any]:
        conv = self._conversation(conversation_id)
        if items is None:
            raise errors.missing("items")
        if not isinstance(items, list):
            raise errors.invalid_type("items", "an array of input items", items)
        if not 1 <= len(items) <= 20:
            raise errors.invalid_value("items", "expected an array of 1 to 20 items.")
        normalized = normalize_items(items, "items", self._core)
        self._claim(conv)
        conv.items.extend(normalized)
        return page(normalized, "asc", len(normalized), None)

    # --- responses -------------------------------------------------------------------------
    def create_response(self, *, model: str, input: object, conversation: str | None,
                        background: bool, metadata: dict[str, str],
                        instructions: str | None = None) -> ResponseRec:
        """Start a response (status queued for background, else in_progress); raises
        conversation_locked when `conversation` is busy."""
        duration = self._core.duration(metadata, self._core.config.response_seconds)
        outcome = self._core.outcome(metadata, ("failed", "incomplete"))
        items = normalize_items(input, "input", self._core)
        conv = None if conversation is None else self._conversation(conversation)
        if conv is not None:
            self._claim(conv)
        rec = ResponseRec(self._core.new_id("resp_"), self._core.now(), duration, background,
                          model, conversation, items, f"echo: {items_text(items)}",
                          self._core.new_id("msg_"), metadata, outcome, instructions)
        self._responses[rec.id] = rec
        self._active[rec.id] = rec
        if conv is not None:
            conv.active.append(rec.id)
        return rec

    def get_response(self, response_id: str) -> ResponseRec:
        self.advance()
        rec = self._responses.get(response_id)
        if rec is None:
            raise errors.ApiError(404, f"Response with id '{response_id}' not found.",
                                  param="response_id")
        return rec

    def cancel_response(self, response_id: str) -> ResponseRec:
        """Cancel now (frees its conversation); a terminal response is returned unchanged."""
        rec = self.get_response(response_id)
        if rec.final is None:
            self._end(rec, "cancelled", self._core.now())
        return rec

    def response_json(self, rec: ResponseRec, status: str | None = None) -> dict[str, Any]:
        """The Response object; `status` overrides (streams show earlier snapshots)."""
        status = status or rec.status(self._core.now())
        done = status == "completed"
        words = len(rec.output_text.split())
        return {
            "id": rec.id, "object": "response", "created_at": self._core.unix(rec.created),
            "status": status, "background": rec.background, "model": rec.model,
            "output": [rec.output_item()] if done else [],
            "conversation": {"id": rec.conversation_id} if rec.conversation_id else None,
            "instructions": rec.instructions, "metadata": rec.metadata,
            "completed_at": self._core.unix(rec.ended) if done and rec.ended else None,
            "error": {"code": "server_error", "message": "The fake was told to fail "
                      "(metadata.fake_outcome)."} if status == "failed" else None,
            "incomplete_details": {"reason": "max_output_tokens"}
            if status == "incomplete" else None,
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "previous_response_id": None, "max_output_tokens": None, "store": True,
            "temperature": 1.0, "top_p": 1.0, "truncation": "disabled",
            "text": {"format": {"type": "text"}}, "reasoning": {"effort": None, "summary": None},
            "service_tier": "default", "user": None,
            "usage": {"input_tokens": len(items_text(rec.input_items).split()),
                      "input_tokens_details": {"cached_tokens": 0}, "output_tokens": words,
                      "output_tokens_details": {"reasoning_tokens": 0},
                      "total_tokens": len(items_text(rec.input_items).split()) + words}
            if done else None,
        }
