"""A fake OpenAI HTTP server on loopback that enforces OpenAI's concurrency rules, for tests
and `threadlock stress`. Needs the `fake-openai` extra (aiohttp). Drive it with the real
`openai` package: `OpenAI(base_url=fake.base_url, api_key="test")`.

Served under /v1: responses (create: sync, background, stream; retrieve; cancel),
conversations (create, retrieve, update, delete; items list/create/retrieve), threads
(create, retrieve, update, delete; create-and-run), messages (create, list, retrieve), runs
(create, stream, list, retrieve, cancel), files (upload, retrieve).

Rules, with OpenAI's exact errors (HTTP 400, `x-should-retry: false` so clients do not retry):
- a conversation is busy while a response on it is in flight; a response or items.create on it
  then fails with message "Another process is currently operating on this conversation. Please
  retry in a few seconds.", param "conversation", code "conversation_locked";
- a thread with an active run (queued, in_progress, requires_action, cancelling) refuses a run
  ("Thread {t} already has an active run {r}.") and a message ("Can't add messages to {t}
  while a run {r} is active.").
Each refusal is counted. Unknown ids get 404, bad input 400 naming the parameter.

Lifecycle: a response or run takes `response_seconds` / `run_seconds` (defaults 0.2), or
`metadata["fake_seconds"]` (e.g. "1.5"; "inf": until cancelled, like a run orphaned by a
crashed worker). `metadata["fake_outcome"]` ("failed", "incomplete" for responses, "failed" or
"requires_action" for runs) changes how it ends. Completed responses append their input and
"echo: <input text>" to the conversation; completed runs append "echo: <last user message>".

Control routes (outside /v1): GET /_fake/stats, POST /_fake/reset, POST /_fake/config
(JSON {"response_seconds": 0.5, ...}). Stats document:

    {"conflicts": {"conversation_locked": 0, "thread_active_run": 0, "message_during_run": 0},
     "conflicts_total": 0,
     "requests": {"total": 12, "by_route": {"POST /v1/responses": 3, ...}},
     "completed": {"responses": 2, "runs": 1}, "cancelled": {"responses": 0, "runs": 0},
     "active": {"responses": ["resp_..."], "runs": ["thread_.../run_..."]},
     "max_concurrent": {"conversations": {"conv_...": 2}, "threads": {"thread_...": 1}},
     "config": {"response_seconds": 0.2, "run_seconds": 0.2, "cancel_seconds": 0.05}}

`max_concurrent` is, per conversation/thread, the most operations seen in flight at once,
counting refused attempts: 1 means callers never overlapped there.

Running it:

    with FakeOpenAI.start_in_thread(run_seconds=0.3) as fake:   # own loop, own thread
        client = OpenAI(base_url=fake.base_url, api_key="test")
        fake.stats(); fake.reset(); fake.configure(response_seconds=1.0)

    async with FakeOpenAI().serve() as fake: ...                # in the running loop

    $ threadlock fake-openai --port 0      # prints "fake-openai listening on http://...:P/v1"

and `stats_at(url)`, `reset_at(url)`, `configure_at(url, ...)` reach one in another process.
"""

from threadlock.fake_openai.runner import FakeOpenAI, configure_at, reset_at, stats_at
from threadlock.fake_openai.state import Config, FakeState

__all__ = ["Config", "FakeOpenAI", "FakeState", "configure_at", "reset_at", "stats_at"]
