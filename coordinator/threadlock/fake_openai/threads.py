"""Assistants threads, messages and runs (part of the I/O-free state, see state.py).

Busy rule (OpenAI's): a thread has at most one active run (queued, in_progress,
requires_action or cancelling). While it has one, a new run raises "Thread {t} already has an
active run {r}." and a new message "Can't add messages to {t} while a run {r} is active." (both
HTTP 400, counted as conflicts). A run goes queued -> in_progress -> completed over its
duration and then appends the assistant message "echo: <last user message>"; cancel makes it
cancelling, then cancelled after `Config.cancel_seconds`. `metadata.fake_outcome` may make it
end `failed`, or stop in `requires_action` (active until cancelled).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from threadlock.fake_openai import errors
from threadlock.fake_openai.conversations import QUEUED_SECONDS, page
from threadlock.fake_openai.state import Core, metadata_arg

RUN_TERMINAL = ("completed", "failed", "cancelled", "expired", "incomplete")
_PART_FIELDS = {"text": "text", "image_url": "image_url", "image_file": "image_file"}


@dataclasses.dataclass
class RunRec:
    id: str
    thread_id: str
    assistant_id: str
    model: str
    instructions: str
    created: float
    duration: float
    metadata: dict[str, str]
    outcome: str
    message_id: str  # the assistant message it will add
    reply: str
    cancel_due: float | None = None
    final: str | None = None
    ended: float | None = None

    @property
    def started(self) -> float:
        return self.created + min(QUEUED_SECONDS, self.duration / 4)

    @property
    def due(self) -> float:
        if self.cancel_due is not None:
            return self.cancel_due
        return math.inf if self.outcome == "requires_action" else self.created + self.duration

    def status(self, now: float) -> str:
        if self.final is not None:
            return self.final
        if self.cancel_due is not None:
            return "cancelling"
        if now < self.started:
            return "queued"
        return "in_progress" if now < self.created + self.duration else "requires_action"


@dataclasses.dataclass
class ThreadRec:
    id: str
    created_at: int
    metadata: dict[str, str]
    messages: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    runs: list[RunRec] = dataclasses.field(default_factory=list)
    active_run: RunRec | None = None

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "object": "thread", "created_at": self.created_at,
                "metadata": self.metadata, "tool_resources": {}}


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": {"value": text, "annotations": []}}


def message_content(value: object, param: str) -> list[dict[str, Any]]:
    """Message content as stored: text, image_url and image_file parts (files unchecked)."""
    if value is None:
        raise errors.missing(param)
    if isinstance(value, str):
        return [text_part(value)]
    if not isinstance(value, list) or not value:
        raise errors.invalid_type(param, "a string or a non-empty array of content parts", value)
    parts = []
    for index, part in enumerate(value):
        where = f"{param}[{index}]"
        if not isinstance(part, dict):
            raise errors.invalid_type(where, "an object", part)
        kind = part.get("type")
        if kind not in _PART_FIELDS:
            raise errors.invalid_value(f"{where}.type", "expected one of text, image_url, "
                                       f"image_file, got {kind!r}.")
        body = part.get(_PART_FIELDS[kind])
        if body is None:
            raise errors.missing(f"{where}.{_PART_FIELDS[kind]}")
        if kind == "text":
            if not isinstance(body, str):
                raise errors.invalid_type(f"{where}.text", "a string", body)
            parts.append(text_part(body))
        elif not isinstance(body, dict):
            raise errors.invalid_type(f"{where}.{kind}", "an object", body)
        else:
            parts.append({"type": kind, kind: body})
    return parts


def attachments_arg(value: object, param: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise errors.invalid_type(param, "an array", value)
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("file_id"), str):
            raise errors.missing(f"{param}[{index}].file_id")
    return list(value)


class ThreadStore:
    def __init__(self, core: Core) -> None:
        self._core = core
        self.clear()

    def clear(self) -> None:
        self._threads: dict[str, ThreadRec] = {}
        self._active: dict[str, RunRec] = {}

    # --- lifecycle -------------------------------------------------------------------------
    def advance(self) -> None:
        now = self._core.now()
        for run in sorted((r for r in self._active.values() if r.due <= now),
                          key=lambda r: r.due):
            self._end(run, "cancelled" if run.cancel_due is not None else run.outcome, run.due)

    def next_due(self) -> float | None:
        # Status changes without effects (queued -> in_progress -> requires_action) count too.
        now = self._core.now()
        dues = [t for run in self._active.values()
                for t in (run.started, run.created + run.duration, run.due) if t > now]
        finite = [d for d in dues if math.isfinite(d)]
        return min(finite) if finite else None

    def active_ids(self) -> list[str]:
        """`thread_id/run_id` of every active run."""
        return [f"{run.thread_id}/{run.id}" for run in self._active.values()]

    def _end(self, run: RunRec, status: str, at: float) -> None:
        run.final, run.ended = status, at
        del self._active[run.id]
        thread = self._threads.get(run.thread_id)
        if thread is not None:
            thread.active_run = None
            if status == "completed":
                thread.messages.append(self._message(
                    thread.id, "assistant", [text_part(run.reply)], [], {}, run.message_id,
                    run=run, at=at))
        if status == "completed":
            self._core.completed["runs"] += 1
        elif status == "cancelled":
            self._core.cancelled["runs"] += 1

    # --- threads and messages --------------------------------------------------------------
    def _thread(self, thread_id: str) -> ThreadRec:
        self.advance()
        thread = self._threads.get(thread_id)
        if thread is None:
            raise errors.not_found("thread", thread_id, "thread_id")
        return thread

    def _message(self, thread_id: str, role: str, content: list[dict[str, Any]],
                 attachments: list[dict[str, Any]], metadata: dict[str, str],
                 message_id: str | None = None, *, run: RunRec | None = None,
                 at: float | None = None) -> dict[str, Any]:
        created = self._core.unix(at)
        return {"id": message_id or self._core.new_id("msg_"), "object": "thread.message",
                "created_at": created, "thread_id": thread_id, "role": role,
                "content": content, "attachments": attachments, "metadata": metadata,
                "assistant_id": run.assistant_id if run else None,
                "run_id": run.id if run else None, "status": "completed",
                "completed_at": created, "incomplete_at": None, "incomplete_details": None}

    def _new_messages(self, thread_id: str, value: object, param: str
                      ) -> list[dict[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise errors.invalid_type(param, "an array of messages", value)
        messages = []
        for index, raw in enumerate(value):
            where = f"{param}[{index}]"
            if not isinstance(raw, dict):
                raise errors.invalid_type(where, "an object", raw)
            messages.append(self._parse_message(thread_id, raw, where))
        return messages

    def _parse_message(self, thread_id: str, body: dict[str, Any], prefix: str = ""
                       ) -> dict[str, Any]:
        dot = f"{prefix}." if prefix else ""
        role = body.get("role")
        if role is None:
            raise errors.missing(f"{dot}role")
        if role not in ("user", "assistant"):
            raise errors.invalid_value(f"{dot}role", f"expected user or assistant, got {role!r}.")
        return self._message(thread_id, role, message_content(body.get("content"),
                                                              f"{dot}content"),
                             attachments_arg(body.get("attachments"), f"{dot}attachments"),
                             metadata_arg(body.get("metadata"), f"{dot}metadata"))

    def create_thread(self, messages: object, metadata: dict[str, str]) -> dict[str, Any]:
        thread = ThreadRec(self._core.new_id("thread_"), self._core.unix(), metadata)
        thread.messages = self._new_messages(thread.id, messages, "messages")
        self._threads[thread.id] = thread
        return thread.json()

    def get_thread(self, thread_id: str) -> dict[str, Any]:
        return self._thread(thread_id).json()

    def update_thread(self, thread_id: str, metadata: dict[str, str]) -> dict[str, Any]:
        thread = self._thread(thread_id)
        thread.metadata = metadata
        return thread.json()

    def delete_thread(self, thread_id: str) -> dict[str, Any]:
        thread = self._thread(thread_id)
        for run in thread.runs:
            self._active.pop(run.id, None)
        del self._threads[thread_id]
        return {"id": thread_id, "object": "thread.deleted", "deleted": True}

    def add_message(self, thread_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Raises message_during_run while the thread has an active run."""
        thread = self._thread(thread_id)
        message = self._parse_message(thread_id, body)
        active = thread.active_run
        self._core.attempt("threads", thread_id, 1 if active else 0)
        if active is not None:
            self._core.conflict("message_during_run")
            raise errors.message_during_run(thread_id, active.id)
        thread.messages.append(message)
        return message

    def list_messages(self, thread_id: str, *, order: str = "desc", limit: int = 20,
                      after: str | None = None, before: str | None = None,
                      run_id: str | None = None) -> dict[str, Any]:
        messages = self._thread(thread_id).messages
        if run_id is not None:
            messages = [m for m in messages if m["run_id"] == run_id]
        return page(messages, order, limit, after, before)

    def get_message(self, thread_id: str, message_id: str) -> dict[str, Any]:
        for message in self._thread(thread_id).messages:
            if message["id"] == message_id:
                return message
        raise errors.not_found("message", message_id, "message_id")

    # --- runs ------------------------------------------------------------------------------
    def create_run(self, thread_id: str, *, assistant_id: str, model: str | None,
                   instructions: str | None, additional_messages: object,
                   metadata: dict[str, str]) -> RunRec:
        """Start a run (queued); raises thread_active_run while another is active."""
        thread = self._thread(thread_id)
        duration = self._core.duration(metadata, self._core.config.run_seconds)
        outcome = self._core.outcome(metadata, ("failed", "requires_action"))
        extra = self._new_messages(thread_id, additional_messages, "additional_messages")
        active = thread.active_run
        self._core.attempt("threads", thread_id, 1 if active else 0)
        if active is not None:
            self._core.conflict("thread_active_run")
            raise errors.thread_active_run(thread_id, active.id)
        thread.messages.extend(extra)
        last_user = next((m for m in reversed(thread.messages) if m["role"] == "user"), None)
        text = " ".join(p["text"]["value"] for p in (last_user or {}).get("content", [])
                        if p["type"] == "text")
        run = RunRec(self._core.new_id("run_"), thread_id, assistant_id, model or "gpt-4o",
                     instructions or "", self._core.now(), duration, metadata, outcome,
                     self._core.new_id("msg_"), f"echo: {text}")
        thread.runs.append(run)
        thread.active_run = run
        self._active[run.id] = run
        return run

    def get_run(self, thread_id: str, run_id: str) -> RunRec:
        for run in self._thread(thread_id).runs:
            if run.id == run_id:
                return run
        raise errors.not_found("run", run_id, "run_id")

    def list_runs(self, thread_id: str, *, order: str = "desc", limit: int = 20,
                  after: str | None = None, before: str | None = None) -> dict[str, Any]:
        runs = [self.run_json(run) for run in self._thread(thread_id).runs]
        return page(runs, order, limit, after, before)

    def cancel_run(self, thread_id: str, run_id: str) -> RunRec:
        """cancelling now, cancelled after Config.cancel_seconds; 400 once terminal."""
        run = self.get_run(thread_id, run_id)
        status = run.status(self._core.now())
        if status in RUN_TERMINAL:
            raise errors.ApiError(400, f"Cannot cancel run with status '{status}'.")
        if run.cancel_due is None:
            run.cancel_due = self._core.now() + self._core.config.cancel_seconds
        return run

    def reply_message(self, run: RunRec, status: str, text: str | None) -> dict[str, Any]:
        """The assistant message a run adds, as streams show it (in_progress: no content)."""
        message = self._message(run.thread_id, "assistant",
                                [] if text is None else [text_part(text)], [], {},
                                run.message_id, run=run)
        if status != "completed":
            message.update(status=status, completed_at=None)
        return message

    def run_json(self, run: RunRec, status: str | None = None) -> dict[str, Any]:
        now = self._core.now()
        status = status or run.status(now)
        unix = self._core.unix
        started = status not in ("queued",) and now >= run.started
        return {
            "id": run.id, "object": "thread.run", "created_at": unix(run.created),
            "assistant_id": run.assistant_id, "thread_id": run.thread_id, "status": status,
            "started_at": unix(run.started) if started else None,
            "expires_at": unix(run.created + 600) if status not in RUN_TERMINAL else None,
            "cancelled_at": unix(run.ended) if status == "cancelled" and run.ended else None,
            "failed_at": unix(run.ended) if status == "failed" and run.ended else None,
            "completed_at": unix(run.ended) if status == "completed" and run.ended else None,
            "required_action": {"type": "submit_tool_outputs", "submit_tool_outputs": {
                "tool_calls": [{"id": f"call_{run.id[4:]}", "type": "function",
                                "function": {"name": "fake_tool", "arguments": "{}"}}]}}
            if status == "requires_action" else None,
            "last_error": {"code": "server_error", "message": "The fake was told to fail "
                           "(metadata.fake_outcome)."} if status == "failed" else None,
            "model": run.model, "instructions": run.instructions, "tools": [],
            "metadata": run.metadata, "usage": None, "temperature": 1.0, "top_p": 1.0,
            "max_prompt_tokens": None, "max_completion_tokens": None,
            "truncation_strategy": {"type": "auto", "last_messages": None},
            "incomplete_details": None, "response_format": "auto", "tool_choice": "auto",
            "parallel_tool_calls": True,
        }
