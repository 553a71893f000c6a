"""The guarded namespaces (`responses`, `beta.threads.messages`, `beta.threads.runs`), shared
by both faces: each guarded method names its lock target and a flow, and hands them to the
face (`_guarded`, `_stream`, `_manager`), which returns a result (sync) or an awaitable
(async). Every other attribute passes through to the caller's own openai client."""

from __future__ import annotations

import contextvars
import dataclasses
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Generic, Protocol, Self, TypeVar

from threadlock_client._common import LeaseView
from threadlock_client.errors import ThreadlockError
from threadlock_client.guard import _flows as flows

ClientT = TypeVar("ClientT")
LocksT = TypeVar("LocksT")
LeaseT = TypeVar("LeaseT", bound=LeaseView)


class Face(Protocol):
    options: flows.GuardOptions

    @property
    def client(self) -> Any: ...

    def _guarded(self, target: str, op: str,
                 make_flow: Callable[[LeaseView], flows.Flow]) -> Any: ...

    def _stream(self, target: str, op: str, make_flow: Callable[[LeaseView], flows.Flow],
                background: bool = False) -> Any: ...

    def _manager(self, target: str, op: str, make_manager: Callable[[], Any],
                 before: Callable[[LeaseView], flows.Flow] | None) -> Any: ...


class GuardBase(Generic[ClientT, LocksT, LeaseT]):
    """What both faces share: options, the namespaces, the sessions open in this context, and
    passing everything unguarded through to the caller's client. The faces add the I/O."""

    def __init__(self, client: ClientT, locks: LocksT,
                 options: flows.GuardOptions | None = None, **changes: Any) -> None:
        self._client = client
        self.locks = locks
        self.options = dataclasses.replace(options or flows.GuardOptions(), **changes)
        # target -> (the session's lease, the thread or task that opened it)
        self._held: contextvars.ContextVar[Mapping[str, tuple[LeaseT, object]]]
        self._held = contextvars.ContextVar("threadlock_held", default=MappingProxyType({}))
        self.responses = Responses(self)
        self.beta = Beta(self)

    @property
    def client(self) -> ClientT:
        return self._client

    def with_options(self, **changes: Any) -> Self:
        """The same guard with other options, e.g. `with_options(wait=0)` to fail fast."""
        other = type(self)(self._client, self.locks, self.options, **changes)
        other._held = self._held  # sessions opened on either are seen by both
        return other

    def __getattr__(self, name: str) -> Any:
        """Everything not guarded (files, models, conversations.create, ...) is the client's."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._client, name)

    def _session_lease(self, target: str, me: object) -> LeaseT | None:
        """The hold of a session open on `target`, reused only by the thread or task `me`
        that opened it and only while it is held: copies of the context (new tasks,
        to_thread) would queue behind their own session, so they fail fast instead."""
        found = self._held.get().get(target)
        if found is None or found[0]._state.released:
            return None
        if found[1] != me:
            raise ThreadlockError(session_elsewhere(target))
        found[0].check()
        return found[0]

    def _open_session(self, target: str, lease: LeaseT, me: object) -> contextvars.Token[Any]:
        return self._held.set({**self._held.get(), target: (lease, me)})


class _Passthrough:
    _path = ""

    def __init__(self, face: Face) -> None:
        self._face = face

    def __getattr__(self, name: str) -> Any:
        return getattr(flows.OpenAICall(self._path).resolve(self._face.client), name)


class Responses(_Passthrough):
    """`responses.create` under the conversation's lock; the rest passes through."""

    _path = "responses"

    def create(self, **kwargs: Any) -> Any:
        conv = flows.conversation_of(kwargs)
        opts = self._face.options
        if kwargs.get("stream"):  # the lease is held until the stream ends or is closed
            return self._face._stream(conv, "responses.create", lambda lease: flows.retry_busy(
                flows.OpenAICall("responses.create", kwargs), conv, lease, opts),
                background=bool(kwargs.get("background")))
        return self._face._guarded(conv, "responses.create",
                                   lambda lease: flows.create_response(kwargs, lease, opts))

    def parse(self, **kwargs: Any) -> Any:
        """responses.parse (structured output), under the conversation's lock like create."""
        conv = flows.conversation_of(kwargs)
        opts = self._face.options
        return self._face._guarded(conv, "responses.parse", lambda lease: flows.create_response(
            kwargs, lease, opts, "responses.parse"))

    def stream(self, **kwargs: Any) -> Any:
        conv = flows.conversation_of(kwargs)
        return self._face._manager(conv, "responses.stream",
                                   lambda: self._face.client.responses.stream(**kwargs), None)


class Messages(_Passthrough):
    _path = "beta.threads.messages"

    def create(self, thread_id: str, **kwargs: Any) -> Any:
        opts = self._face.options
        return self._face._guarded(thread_id, "messages.create", lambda lease:
                                   flows.create_message(thread_id, kwargs, lease, opts))


class Runs(_Passthrough):
    """Runs are created once the thread is idle and held until they end (`create` returns the
    finished run, like `create_and_poll`); `stream` holds the lease for the whole stream."""

    _path = "beta.threads.runs"

    def create(self, thread_id: str, **kwargs: Any) -> Any:
        opts = self._face.options
        if kwargs.get("stream"):
            return self._face._stream(thread_id, "runs.create", lambda lease: _then(
                flows.wait_active_runs(thread_id, lease, opts), flows.retry_busy(
                    flows.OpenAICall("beta.threads.runs.create",
                                     {"thread_id": thread_id, **kwargs}),
                    thread_id, lease, opts,
                    lambda: flows.wait_active_runs(thread_id, lease, opts))))
        return self._face._guarded(thread_id, "runs.create", lambda lease:
                                   flows.run_to_end(thread_id, kwargs, lease, opts))

    def create_and_poll(self, thread_id: str, **kwargs: Any) -> Any:
        kwargs.pop("poll_interval_ms", None)  # the guard polls at options.poll_interval
        return self.create(thread_id, **kwargs)

    def stream(self, thread_id: str, **kwargs: Any) -> Any:
        opts = self._face.options
        return self._face._manager(
            thread_id, "runs.stream",
            lambda: self._face.client.beta.threads.runs.stream(thread_id=thread_id, **kwargs),
            lambda lease: flows.wait_active_runs(thread_id, lease, opts))


class Threads(_Passthrough):
    _path = "beta.threads"

    def __init__(self, face: Face) -> None:
        super().__init__(face)
        self.messages = Messages(face)
        self.runs = Runs(face)


class Beta(_Passthrough):
    _path = "beta"

    def __init__(self, face: Face) -> None:
        super().__init__(face)
        self.threads = Threads(face)


def send_flow(face: Face, thread_id: str, content: str, assistant_id: str,
              files: list[str] | tuple[str, ...], images: list[str] | tuple[str, ...],
              run_kwargs: dict[str, Any]) -> Callable[[LeaseView], flows.Flow]:
    return lambda lease: flows.send(thread_id, content, assistant_id, list(files),
                                    list(images), run_kwargs, lease, face.options)


def _then(first: flows.Flow, second: flows.Flow) -> flows.Flow:
    yield from first
    return (yield from second)


def response_id_of(event: Any) -> str | None:
    """The response id a streamed event carries (response.created, ...), if any."""
    response = getattr(event, "response", None)
    rid = getattr(response, "id", None)
    return rid if isinstance(rid, str) else None


def session_elsewhere(target: str) -> str:
    return (f"{target} is held by guarded.session() in another task or thread of this "
            "process; guarded calls of a session must run in the task/thread that opened it "
            "(on Python 3.11, asyncio.wait_for and gather run their argument in a new task). "
            "Queuing behind our own session would only deadlock.")
