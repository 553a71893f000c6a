"""`AsyncGuardedOpenAI`: the asyncio twin of `GuardedOpenAI` (sync.py), over an
`openai.AsyncOpenAI` and an `AsyncLockClient`; same flows (_flows.py), same namespaces.

    guarded = AsyncGuardedOpenAI(openai.AsyncOpenAI(), AsyncLockClient(owner="w1"), wait=30)
    resp = await guarded.responses.create(conversation="conv_1", model="gpt-5", input="Hi")
    async with guarded.session("conv_1"):
        ...
    stream = await guarded.responses.create(conversation="conv_1", ..., stream=True)
    async for event in stream: ...  # the lease is released when the stream ends
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import openai

from threadlock_client import _protocol as proto
from threadlock_client import _tracing
from threadlock_client._common import LeaseView
from threadlock_client.aio import AsyncLease, AsyncLockClient
from threadlock_client.guard import _api
from threadlock_client.guard import _flows as flows
from threadlock_client.guard._api import response_id_of


class AsyncGuardedOpenAI(_api.GuardBase[openai.AsyncOpenAI, AsyncLockClient, AsyncLease]):
    @contextlib.asynccontextmanager
    async def session(self, target: str) -> AsyncIterator[AsyncLease]:
        async with self._hold(target, "session") as lease:
            token = self._open_session(target, lease, asyncio.current_task())
            try:
                yield lease
            finally:
                self._held.reset(token)

    async def send(self, thread_id: str, content: str, assistant_id: str, *,
                   files: tuple[str, ...] | list[str] = (),
                   images: tuple[str, ...] | list[str] = (), **run_kwargs: Any) -> flows.Reply:
        reply: flows.Reply = await self._guarded(thread_id, "send", _api.send_flow(
            self, thread_id, content, assistant_id, files, images, run_kwargs))
        return reply

    @contextlib.asynccontextmanager
    async def _hold(self, target: str, op: str) -> AsyncIterator[AsyncLease]:
        held = self._session_lease(target, asyncio.current_task())
        if held is not None:
            yield held
            return
        async with self.locks.hold(self.options.key_prefix + target, ttl=self.options.ttl,
                                   wait=self.options.wait, metadata={"op": op}) as lease:
            yield lease

    async def _guarded(self, target: str, op: str,
                       make_flow: Callable[[LeaseView], flows.Flow]) -> Any:
        async with self._hold(target, op) as lease:
            return await self._drive(make_flow(lease), lease)

    async def _stream(self, target: str, op: str,
                      make_flow: Callable[[LeaseView], flows.Flow],
                      background: bool = False) -> Any:
        hold = self._hold(target, op)
        lease = await hold.__aenter__()
        try:
            stream = await self._drive(make_flow(lease), lease)
        except BaseException as exc:
            await hold.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        cancel = self._client.responses.cancel if background else None
        return AsyncGuardedStream(stream, hold, cancel)

    def _manager(self, target: str, op: str, make_manager: Callable[[], Any],
                 before: Callable[[LeaseView], flows.Flow] | None) -> Any:
        return AsyncGuardedStreamManager(self, target, op, make_manager, before)

    async def _drive(self, flow: flows.Flow, lease: AsyncLease) -> Any:
        value: Any = None
        error: BaseException | None = None
        while True:
            op, result = proto.advance(flow, value, error)
            if op is None:
                return result
            value, error = None, None
            try:
                if isinstance(op, proto.Sleep):
                    await asyncio.sleep(op.seconds)
                elif isinstance(op, flows.Annotate):
                    await lease.annotate(**op.metadata)
                else:
                    with _tracing.openai_call(op):  # a child of the hold's span
                        value = op.fn() if isinstance(op, flows.Invoke) else op.resolve(
                            self._client)(**op.kwargs)
                        if isinstance(op, flows.OpenAICall) and op.shielded:
                            value = await asyncio.shield(asyncio.ensure_future(value))
                        elif inspect.isawaitable(value):  # AsyncPaginator: to its 1st page
                            value = await value
            except BaseException as exc:  # incl. cancellation: the flow cleans up first
                error = exc


class AsyncGuardedStream:
    """An openai AsyncStream whose lease is released when it ends, fails or is closed; a
    background response stopped early is cancelled (see GuardedStream)."""

    def __init__(self, stream: Any,
                 hold: contextlib.AbstractAsyncContextManager[AsyncLease],
                 cancel: Callable[..., Any] | None = None) -> None:
        self._stream = stream
        self._hold: contextlib.AbstractAsyncContextManager[AsyncLease] | None = hold
        self._cancel = cancel
        self._response_id: str | None = None

    async def __aiter__(self) -> AsyncIterator[Any]:
        try:
            async for event in self._stream:
                self._response_id = response_id_of(event) or self._response_id
                yield event
        except BaseException as exc:  # incl. GeneratorExit: the caller stopped early
            try:
                await self._abort()
            finally:  # even if cancelled again meanwhile: the lock must not stay held
                await self._end(exc)
            raise
        await self._end(None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    async def close(self) -> None:
        try:
            if self._hold is not None:
                await self._abort()
        finally:
            await self._end(None)

    async def __aenter__(self) -> AsyncGuardedStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _abort(self) -> None:
        with contextlib.suppress(Exception):
            await self._stream.close()  # don't leave the response streaming into it
        if self._cancel is not None and self._response_id:
            with contextlib.suppress(Exception):  # shielded: it runs on if we are cancelled
                await asyncio.shield(asyncio.ensure_future(
                    self._cancel(self._response_id, timeout=flows.CANCEL_TIMEOUT)))

    async def _end(self, exc: BaseException | None) -> None:
        hold, self._hold = self._hold, None
        if hold is not None:
            await hold.__aexit__(type(exc) if exc else None, exc,
                                 exc.__traceback__ if exc else None)


class AsyncGuardedStreamManager:
    """Wraps `runs.stream(...)` / `responses.stream(...)` of the async client (see
    GuardedStreamManager)."""

    def __init__(self, guard: AsyncGuardedOpenAI, target: str, op: str,
                 make_manager: Callable[[], Any],
                 before: Callable[[LeaseView], flows.Flow] | None) -> None:
        self._guard, self._target, self._op = guard, target, op
        self._make, self._before = make_manager, before
        self._hold: contextlib.AbstractAsyncContextManager[AsyncLease] | None = None
        self._inner: Any = None

    async def __aenter__(self) -> Any:
        self._hold = self._guard._hold(self._target, self._op)
        lease = await self._hold.__aenter__()
        before = self._before

        async def enter() -> Any:
            self._inner = self._make()
            return await self._inner.__aenter__()

        try:
            return await self._guard._drive(flows.enter_stream(
                enter, self._target, lease, self._guard.options,
                (lambda: before(lease)) if before else None), lease)
        except BaseException as exc:
            await self._hold.__aexit__(type(exc), exc, exc.__traceback__)
            raise

    async def __aexit__(self, *exc: Any) -> None:
        try:
            if self._inner is not None:
                await self._inner.__aexit__(*exc)
        finally:
            if self._hold is not None:
                await self._hold.__aexit__(*exc)
