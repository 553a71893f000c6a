"""Server-sent event sequences for streamed responses and runs, computed from the state
(no I/O): the HTTP layer calls `poll()` to get the events due now and waits until
`next_time()` (or until the state changes, e.g. a cancel) before polling again.

Responses: response.created, response.in_progress, response.output_item.added,
response.content_part.added, response.output_text.delta (one per word, spread over the
duration), response.output_text.done, response.content_part.done, response.output_item.done,
response.completed; each `data` carries `type` and a `sequence_number`. A response that fails
ends with response.failed, an incomplete or cancelled one with response.incomplete (its
`response.status` says which).

Runs: thread.run.created, thread.run.queued, thread.run.in_progress, thread.message.created,
thread.message.in_progress, thread.message.delta..., thread.message.completed,
thread.run.completed (or .failed, .requires_action, .cancelling + .cancelled), then
`event: done` with data `[DONE]`, as openai's AssistantEventHandler expects.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from threadlock.fake_openai.conversations import ConversationStore, ResponseRec, output_text_part
from threadlock.fake_openai.state import Core
from threadlock.fake_openai.threads import RunRec, ThreadStore, text_part

Event = tuple[str, str]  # (event name, data)


def encode(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


def chunks(text: str) -> list[str]:
    """Words with their trailing spaces: joined, they give `text` back."""
    return re.findall(r"\s*\S+\s*", text) or [text]


def spread(start: float, end: float, count: int) -> list[float]:
    """`count` instants strictly inside (start, end), evenly spaced (inf stays inf)."""
    if not math.isfinite(end):
        return [math.inf] * count
    return [start + (end - start) * (i + 1) / (count + 1) for i in range(count)]


class ResponseStreamer:
    def __init__(self, core: Core, store: ConversationStore, rec: ResponseRec) -> None:
        self._core, self._store, self._rec = core, store, rec
        self._chunks = chunks(rec.output_text)
        self._times = spread(rec.created, rec.due, len(self._chunks))
        self._sent = 0  # chunks sent
        self._seq = 0
        self._started = False
        self.done = False

    def _event(self, kind: str, **fields: Any) -> Event:
        data = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return kind, json.dumps(data)

    def _ids(self) -> dict[str, Any]:
        return {"item_id": self._rec.output_item_id, "output_index": 0, "content_index": 0}

    def next_time(self) -> float | None:
        pending = self._times[self._sent] if self._sent < len(self._times) else self._rec.due
        return pending if math.isfinite(pending) else None

    def poll(self) -> list[Event]:
        rec = self._store.get_response(self._rec.id)  # advances the state
        now, out = self._core.now(), []
        if not self._started:
            self._started = True
            out.append(self._event("response.created", response=self._snapshot("queued"
                                   if rec.status(now) == "queued" else "in_progress")))
            out.append(self._event("response.in_progress",
                                   response=self._snapshot("in_progress")))
            out.append(self._event("response.output_item.added", output_index=0,
                                   item=rec.output_item("in_progress")))
            out.append(self._event("response.content_part.added", **self._ids(),
                                   part=output_text_part("")))
        if rec.final in (None, "completed"):
            while self._sent < len(self._chunks) and (
                    rec.final == "completed" or self._times[self._sent] <= now):
                out.append(self._event("response.output_text.delta", **self._ids(),
                                       delta=self._chunks[self._sent], logprobs=[]))
                self._sent += 1
        if rec.final == "completed":
            text = rec.output_text
            out.append(self._event("response.output_text.done", **self._ids(), text=text,
                                   logprobs=[]))
            out.append(self._event("response.content_part.done", **self._ids(),
                                   part=output_text_part(text)))
            out.append(self._event("response.output_item.done", output_index=0,
                                   item=rec.output_item()))
            out.append(self._event("response.completed", response=self._snapshot()))
            self.done = True
        elif rec.final is not None:
            kind = "response.failed" if rec.final == "failed" else "response.incomplete"
            out.append(self._event(kind, response=self._snapshot()))
            self.done = True
        return out

    def _snapshot(self, status: str | None = None) -> dict[str, Any]:
        return self._store.response_json(self._rec, status)


class RunStreamer:
    def __init__(self, core: Core, store: ThreadStore, run: RunRec) -> None:
        self._core, self._store, self._run = core, store, run
        self._chunks = chunks(run.reply)
        self._times = spread(run.started, run.created + run.duration, len(self._chunks))
        self._sent = 0
        self._stage = 0  # 0 nothing sent, 1 created, 2 in_progress, 3 cancelling
        self.done = False

    def next_time(self) -> float | None:
        run = self._run
        if run.cancel_due is not None:
            pending = run.cancel_due
        elif self._stage < 2:
            pending = run.started
        elif self._sent < len(self._times):
            pending = self._times[self._sent]
        else:
            pending = run.created + run.duration
        return pending if math.isfinite(pending) else None

    def _json(self, status: str | None = None) -> str:
        return json.dumps(self._store.run_json(self._run, status))

    def poll(self) -> list[Event]:
        run = self._store.get_run(self._run.thread_id, self._run.id)  # advances the state
        now, out = self._core.now(), []
        status = run.status(now)
        if self._stage == 0:
            out += [("thread.run.created", self._json("queued")),
                    ("thread.run.queued", self._json("queued"))]
            self._stage = 1
        if run.cancel_due is not None:
            if self._stage < 3:
                out.append(("thread.run.cancelling", self._json("cancelling")))
                self._stage = 3
            if status == "cancelled":
                out.append(("thread.run.cancelled", self._json()))
                self.done = True
        elif status != "queued":
            if self._stage < 2:
                message = json.dumps(self._store.reply_message(run, "in_progress", None))
                out += [("thread.run.in_progress", self._json("in_progress")),
                        ("thread.message.created", message),
                        ("thread.message.in_progress", message)]
                self._stage = 2
            while self._sent < len(self._chunks) and (
                    status == "completed" or self._times[self._sent] <= now):
                delta = {"id": run.message_id, "object": "thread.message.delta",
                         "delta": {"role": "assistant", "content": [
                             {"index": 0, **text_part(self._chunks[self._sent])}]}}
                out.append(("thread.message.delta", json.dumps(delta)))
                self._sent += 1
            if status == "completed":
                done = self._store.reply_message(run, "completed", run.reply)
                out.append(("thread.message.completed", json.dumps(done)))
            if status in ("completed", "failed", "requires_action"):
                out.append((f"thread.run.{status}", self._json()))
                self.done = True
        if self.done:
            out.append(("done", "[DONE]"))
        return out
