"""`GuardedOpenAI`: a caller's own `openai.OpenAI`, with each call on a conversation or thread
made under that conversation's lock (its config, retries and base_url untouched).

    import openai
    from threadlock_client import LockClient, ThreadBusy
    from threadlock_client.guard import GuardedOpenAI

    guarded = GuardedOpenAI(openai.OpenAI(), LockClient(owner="worker-1"), wait=30)
    try:
        reply = guarded.responses.create(conversation="conv_1", model="gpt-5", input="Hi")
    except ThreadBusy as busy:
        show_user(busy.message)  # "conv_1 is busy with another request ..."
    with guarded.session("conv_1"):  # several calls in a row under one hold
        for part in outline:
            guarded.responses.create(conversation="conv_1", model="gpt-5", input=part)

Failure modes: ThreadBusy (the conversation stayed locked for `wait`; fail fast with
`guarded.with_options(wait=0)`), LeaseLost (the lease ended mid-call; stop), ConversationLocked
(OpenAI kept refusing it under our lease), and the openai package's own errors.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import openai

from threadlock_client import _protocol as proto
from threadlock_client import _tracing
from threadlock_client._common import LeaseView
from threadlock_client.client import Lease, LockClient
from threadlock_client.guard import _api
from threadlock_client.guard import _flows as flows
from threadlock_client.guard._api import response_id_of


class GuardedOpenAI(_api.GuardBase[openai.OpenAI, LockClient, Lease]):
    @contextlib.contextmanager
    def session(self, target: str) -> Iterator[Lease]:
        """Hold `target` (a conversation or thread id) for the block: guarded calls on it
        inside reuse this hold instead of taking the lock per call."""
        with self._hold(target, "session") as lease:
            token = self._open_session(target, lease, threading.get_ident())
            try:
                yield lease
            finally:
                self._held.reset(token)

    def send(self, thread_id: str, content: str, assistant_id: str, *,
             files: tuple[str, ...] | list[str] = (), images: tuple[str, ...] | list[str] = (),
             **run_kwargs: Any) -> flows.Reply:
        """Add a user message (with image URLs/file ids and file ids for file_search) and run
        it to completion under one hold; returns the assistant's reply."""
        reply: flows.Reply = self._guarded(thread_id, "send", _api.send_flow(
            self, thread_id, content, assistant_id, files, images, run_kwargs))
        return reply

    # --- what _api's namespaces call ---------------------------------------------------------
    @contextlib.contextmanager
    def _hold(self, target: str, op: str) -> Iterator[Lease]:
        held = self._session_lease(target, threading.get_ident())
        if held is not None:
            yield held
            return
        with self.locks.hold(self.options.key_prefix + target, ttl=self.options.ttl,
                             wait=self.options.wait, metadata={"op": op}) as lease:
            yield lease

    def _guarded(self, target: str, op: str, make_flow: Callable[[LeaseView], flows.Flow]) -> Any:
        with self._hold(target, op) as lease:
            return self._drive(make_flow(lease), lease)

    def _stream(self, target: str, op: str, make_flow: Callable[[LeaseView], flows.Flow],
                background: bool = False) -> Any:
        hold = self._hold(target, op)
        lease = hold.__enter__()
        try:
            stream = self._drive(make_flow(lease), lease)
        except BaseException as exc:
            hold.__exit__(type(exc), exc, exc.__traceback__)
            raise
        cancel = self._client.responses.cancel if background else None
        return GuardedStream(stream, hold, cancel)

    def _manager(self, target: str, op: str, make_manager: Callable[[], Any],
                 before: Callable[[LeaseView], flows.Flow] | None) -> Any:
        return GuardedStreamManager(self, target, op, make_manager, before)

    def _drive(self, flow: flows.Flow, lease: Lease) -> Any:
        value: Any = None
        error: BaseException | None = None
        while True:
            op, result = proto.advance(flow, value, error)
            if op is None:
                return result
            value, error = None, None
            try:
                if isinstance(op, proto.Sleep):
                    time.sleep(op.seconds)
                elif isinstance(op, flows.Annotate):
                    lease.annotate(**op.metadata)
                elif isinstance(op, flows.Invoke):
                    value = op.fn()
                else:
                    with _tracing.openai_call(op):  # a child of the hold's span
                        value = op.resolve(self._client)(**op.kwargs)
            except BaseException as exc:  # incl. KeyboardInterrupt: the flow cleans up first
                error = exc


class GuardedStream:
    """An openai Stream whose lease is released when it ends, fails or is closed. A
    background response stopped early is cancelled (OpenAI would keep it running, and the
    conversation busy, after the stream is gone)."""

    def __init__(self, stream: Any, hold: contextlib.AbstractContextManager[Lease],
                 cancel: Callable[..., Any] | None = None) -> None:
        self._stream = stream
        self._hold: contextlib.AbstractContextManager[Lease] | None = hold
        self._cancel = cancel
        self._response_id: str | None = None

    def __iter__(self) -> Iterator[Any]:
        try:
            for event in self._stream:
                self._response_id = response_id_of(event) or self._response_id
                yield event
        except BaseException as exc:  # incl. GeneratorExit: the caller stopped early
            try:
                self._abort()
            finally:  # even if interrupted again meanwhile: the lock must not stay held
                self._end(exc)
            raise
        self._end(None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def close(self) -> None:
        try:
            if self._hold is not None:
                self._abort()
        finally:
            self._end(None)

    def __enter__(self) -> GuardedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _abort(self) -> None:
        with contextlib.suppress(Exception):
            self._stream.close()  # don't leave the response streaming into the conversation
        if self._cancel is not None and self._response_id:
            with contextlib.suppress(Exception):
                self._cancel(self._response_id, timeout=flows.CANCEL_TIMEOUT)

    def _end(self, exc: BaseException | None) -> None:
        hold, self._hold = self._hold, None
        if hold is not None:
            hold.__exit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)


class GuardedStreamManager:
    """Wraps `runs.stream(...)` / `responses.stream(...)`: holds the lease from `__enter__`
    (after waiting for active runs, retrying OpenAI's busy answer) to `__exit__`."""

    def __init__(self, guard: GuardedOpenAI, target: str, op: str,
                 make_manager: Callable[[], Any],
                 before: Callable[[LeaseView], flows.Flow] | None) -> None:
        self._guard, self._target, self._op = guard, target, op
        self._make, self._before = make_manager, before
        self._hold: contextlib.AbstractContextManager[Lease] | None = None
        self._inner: Any = None

    def __enter__(self) -> Any:
        self._hold = self._guard._hold(self._target, self._op)
        lease = self._hold.__enter__()
        before = self._before

        def enter() -> Any:
            self._inner = self._make()
            return self._inner.__enter__()

        try:
            return self._guard._drive(flows.enter_stream(
                enter, self._target, lease, self._guard.options,
                (lambda: before(lease)) if before else None), lease)
        except BaseException as exc:
            self._hold.__exit__(type(exc), exc, exc.__traceback__)
            raise

    def __exit__(self, *exc: Any) -> None:
        try:
            if self._inner is not None:
                self._inner.__exit__(*exc)
        finally:
            if self._hold is not None:
                self._hold.__exit__(*exc)
