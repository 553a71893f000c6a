"""The asyncio face: `AsyncLockClient`, and `AsyncLease`, renewed by a background task.
Same protocol as the sync face (_protocol.py); create the client inside its event loop.

    from threadlock_client.aio import AsyncLockClient

    async with AsyncLockClient("127.0.0.1:50051", owner="worker-1") as locks:
        async with locks.hold("conv_abc", ttl=30, wait=10, cancel_on_loss=True) as lease:
            await do_work(fencing_token=lease.fencing_token)

With `cancel_on_loss=True` the task running the block is cancelled as soon as the lease is
lost, and the block ends with LeaseLost instead of CancelledError; without it, `check()` is the
checkpoint. Failure modes as in the sync face (client.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

import grpc
import grpc.aio

from threadlock_client import _protocol as proto
from threadlock_client import _tracing, errors
from threadlock_client._auth import AsyncAuth, make_bearer
from threadlock_client._common import (
    LeaseView,
    Settings,
    Tls,
    abandon_after,
    hold_spec,
    maybe_session_ended,
    settle_release,
)
from threadlock_client._proto import lock_pb2 as pb
from threadlock_client._proto import lock_pb2_grpc
from threadlock_client._stream import DEFAULT_TRANSPORT, AsyncTransport
from threadlock_client._watch import WatchPolicy
from threadlock_client.watching import AsyncWatch

T = TypeVar("T")
log = logging.getLogger("threadlock_client")


class AsyncLockClient:
    """The asyncio twin of `LockClient` (same arguments, same semantics)."""

    def __init__(self, addresses: str | Sequence[str] | None = None, *, owner: str | None = None,
                 tls: Tls | None = None, use_session: bool = False, session_ttl: float = 30.0,
                 call_timeout: float = 10.0, release_timeout: float = 5.0,
                 token: str | None = None, token_file: str | None = None,
                 api_key: str | None = None, transport: str = DEFAULT_TRANSPORT) -> None:
        self.settings = Settings.make(addresses, owner, tls, call_timeout, release_timeout,
                                      use_session, session_ttl)
        # A coordinator with auth: one of token / token_file (re-read when it changes) /
        # api_key, sent as `authorization: Bearer ...` on every call (on a stream: in the
        # stream's metadata; a changed token file opens a new stream).
        bearer = make_bearer(token, token_file, api_key)
        opts = self.settings.channel_options()
        auth = [AsyncAuth(bearer)] if bearer is not None else None
        self._channels = [grpc.aio.secure_channel(a, tls.credentials(), opts, interceptors=auth)
                          if tls else grpc.aio.insecure_channel(a, opts, interceptors=auth)
                          for a in self.settings.addresses]
        # "stream" (default): every call multiplexed on one LockService.Stream per address;
        # "unary": one RPC per call (see _stream.py).
        self._transport = AsyncTransport(self._channels, bearer, transport)
        self._stubs = [lock_pb2_grpc.LockServiceStub(c) for c in self._channels]  # Watch
        self._targets = proto.Targets(len(self._channels))
        self._session: _Keeper | None = None
        self._session_lock = asyncio.Lock()
        self._closing = asyncio.Event()  # stops background cleanups
        self._tasks: set[asyncio.Task[Any]] = set()

    @contextlib.asynccontextmanager
    async def hold(self, key: str, *, ttl: float = 30.0, wait: float = 0.0,
                   owner: str | None = None, request_id: str = "",
                   metadata: dict[str, str] | None = None,
                   on_lost: Callable[[AsyncLease], None] | None = None,
                   cancel_on_loss: bool = False) -> AsyncIterator[AsyncLease]:
        """Hold `key` for the `async with` block (see the sync `LockClient.hold`)."""
        lease = await self.acquire(key, ttl=ttl, wait=wait, owner=owner, request_id=request_id,
                                   metadata=metadata, on_lost=on_lost)
        if cancel_on_loss:
            lease.cancel_on_loss()
        async with lease:
            with lease._trace.current():
                yield lease

    async def acquire(self, key: str, *, ttl: float = 30.0, wait: float = 0.0,
                      owner: str | None = None, request_id: str = "",
                      metadata: dict[str, str] | None = None,
                      on_lost: Callable[[AsyncLease], None] | None = None) -> AsyncLease:
        """Like `hold` without the block: the lease renews itself until `release()`.
        With `use_session`, the lock lives on the session's lease and `ttl` is not used."""
        with _tracing.acquire(key, wait, owner or self.settings.owner,
                              self.settings.use_session) as traced:
            got, state = await self._acquire(key, ttl, wait, owner, request_id, metadata)
            traced.granted(got.fencing_token)
        return AsyncLease(self, got, state, on_lost)

    async def _acquire(self, key: str, ttl: float, wait: float, owner: str | None,
                       request_id: str, metadata: dict[str, str] | None
                       ) -> tuple[pb.Lease, proto.LeaseState]:
        for attempt in range(2):  # a second time only if our session turned out to be gone
            session = await self._current_session() if self.settings.use_session else None
            state = session.state if session else None
            spec = hold_spec(self.settings, key, ttl, wait, owner, request_id, metadata, state)
            asking = proto.Acquiring(spec, own_request_id=not request_id)
            try:
                got = await self.run(proto.acquire(self._targets, asking,
                                                   self.settings.call_timeout))
            except BaseException as exc:
                if (attempt == 0 and state is not None and maybe_session_ended(exc, state)
                        and await self.run(proto.session_gone(self._targets, state,
                                                              self.settings.call_timeout))):
                    continue
                if abandon_after(exc, request_id):  # no answer: leave no lock behind
                    self._background(proto.abandon(self._targets, asking.spec,
                                                   self.settings.release_timeout))
                raise
            return got, proto.state_of(got, state, asking.expires)
        raise AssertionError("unreachable: the loop returns or raises")

    def _background(self, flow: proto.Flow[Any]) -> None:
        """Run a cleanup flow in a task of its own (it must outlive a cancelled caller)."""
        task = asyncio.ensure_future(self.run(flow, self._closing))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # never "unretrieved"

    async def status(self, key: str | None = None, prefix: str = "") -> list[pb.LockState]:
        return await self.run(proto.status(self._targets, key, prefix,
                                           self.settings.call_timeout))

    def watch(self, *, prefix: str = "", key: str | None = None, cursor: str = "",
              retry_for: float = 60.0) -> AsyncWatch:
        """Lock events as an async iterator (see the sync `LockClient.watch`)."""
        return AsyncWatch(self._stubs, WatchPolicy(proto.Targets(len(self._stubs),
                                                                 self._targets.current),
                                                   key=key, prefix=prefix, cursor=cursor,
                                                   retry_for=retry_for))

    async def close(self) -> None:
        self._closing.set()
        if self._tasks:  # cleanups in flight get a bounded moment
            await asyncio.wait(set(self._tasks), timeout=self.settings.release_timeout)
        async with self._session_lock:
            session, self._session = self._session, None
        if session is not None:
            session.state.lose("the client closed its session")  # its locks are freed now
            await session.stop()
            with contextlib.suppress(Exception):
                await self.run(proto.close_session(self._targets, session.state.token,
                                                   self.settings.release_timeout))
        await self._transport.close()
        for channel in self._channels:
            await channel.close()

    async def __aenter__(self) -> AsyncLockClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def run(self, flow: proto.Flow[T], stop: asyncio.Event | None = None,
                  renewing: _tracing.Hold | None = None) -> T:
        """Perform a protocol flow in this task (see _protocol.py). Each call is a span
        (_tracing.rpc), except for `renewing` a lease: its failures are events of its hold."""
        value: Any = None
        error: BaseException | None = None
        while True:
            op, result = proto.advance(flow, value, error)
            if op is None:
                return result  # type: ignore[return-value]
            value, error = None, None
            if isinstance(op, proto.Sleep):
                value = await _sleep(op.seconds, stop)
                continue
            with (_tracing.rpc(op.method, self.settings.addresses[op.target])
                  if renewing is None
                  else contextlib.nullcontext(_tracing.Rpc(None, renewing.metadata))) as traced:
                try:
                    value = await self._transport.call(op, traced.metadata)
                except proto.RpcFailure as failure:
                    error = failure
                    traced.failed(failure.code)
                    if renewing is not None:
                        renewing.renewal_failed(op.method, failure.code)

    async def _current_session(self) -> _Keeper:
        async with self._session_lock:
            if self._session is None or self._session.state.reason() is not None:
                if self._session is not None:
                    await self._session.stop()
                state = await self.run(proto.open_session(
                    self._targets, self.settings.owner, self.settings.session_ttl,
                    self.settings.call_timeout))
                self._session = _Keeper(self, state, pb.KeepAliveRequest(session_id=state.token),
                                        _tracing.NO_HOLD)
            return self._session


async def _sleep(seconds: float, stop: asyncio.Event | None) -> bool:
    if stop is None:
        await asyncio.sleep(seconds)
        return False
    # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that arrives as the
    # event is set (CPython gh-86296), and a cancelled renewal loop must stop.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()
    return stop.is_set()


class _Keeper:
    """A task renewing one lease (a lock's own, or the session's) until stopped."""

    def __init__(self, client: AsyncLockClient, state: proto.LeaseState,
                 request: pb.KeepAliveRequest, hold: _tracing.Hold) -> None:
        self.state = state
        self.hold = hold
        self._stop = asyncio.Event()
        flow = proto.keep(client._targets, state, request, client.settings.call_timeout)
        self._task = asyncio.create_task(self._run(client, flow),
                                         name=f"threadlock-keepalive {state.key}")

    async def _run(self, client: AsyncLockClient, flow: proto.Flow[None]) -> None:
        try:
            await client.run(flow, self._stop, self.hold)
        except Exception as exc:  # never die silently: the holder must learn of it
            log.exception("renewing %r failed", self.state.key)
            self.state.lose(f"renewal stopped: {exc}")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not asyncio.current_task():  # never raises, never eats our cancel
            await asyncio.wait({self._task}, timeout=1)


class AsyncLease(LeaseView):
    """A held lock, renewed by a task while held (see `Lease`)."""

    def __init__(self, client: AsyncLockClient, lease: pb.Lease, state: proto.LeaseState,
                 on_lost: Callable[[AsyncLease], None] | None = None) -> None:
        super().__init__(lease, state)
        self._client = client
        self._lost = asyncio.Event()
        self._released = False
        self._victim: asyncio.Task[Any] | None = None
        self._cancelled = False
        self._loop = asyncio.get_running_loop()
        self._trace = _tracing.Hold(lease.key, lease.fencing_token)
        state.listeners.append(self._on_lost)
        state.listeners.append(lambda: self._trace.lost(state.lost_reason or "lost"))
        if on_lost is not None:
            state.listeners.append(lambda: on_lost(self))
        self._keeper = None if state.parent else _Keeper(client, state, pb.KeepAliveRequest(
            lease_token=lease.lease_token), self._trace)

    def cancel_on_loss(self) -> None:
        """Cancel the current task when the lease is lost; `async with` turns that into
        LeaseLost."""
        self._victim = asyncio.current_task()
        if self.lost:
            self._on_lost()

    def _on_lost(self) -> None:
        # Whoever noticed (the renewal task, the block's own check(), another thread), the
        # event and the cancellation are handled in the loop, after the current step: a
        # check() raising LeaseLost right now goes first, and no asyncio object is touched
        # from another thread.
        try:
            here = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            here = False
        if here:
            self._loop.call_soon(self._lost_in_loop)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._lost_in_loop)

    def _lost_in_loop(self) -> None:
        self._lost.set()
        victim = self._victim
        if victim is not None and not victim.done() and not self._released \
                and not self._cancelled:
            self._cancelled = True
            victim.cancel(f"threadlock: lease on {self.key!r} lost")

    async def wait_lost(self, timeout: float | None = None) -> bool:
        """Wait until the lease is lost (True) or `timeout` passes (False); after a release,
        answer at once."""
        if self._released or self.lost:
            return self.lost
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):  # lets a cancel through (see _sleep)
                await self._lost.wait()
        return self._lost.is_set()

    async def annotate(self, **metadata: str) -> None:
        """Merge into the lock's metadata (see `Lease.annotate`)."""
        await self._client.run(proto.annotate(self._client._targets, self._state, metadata,
                                              self._client.settings.call_timeout))

    async def release(self) -> bool:
        """See `Lease.release`."""
        if self._released:
            return False
        self._released = True
        if self._keeper is not None:
            await self._keeper.stop()
        else:
            self._state.forget_parent()
        try:
            with _tracing.release(self.key):
                result = await self._client.run(proto.release(
                    self._client._targets, self.lease_token,
                    self._client.settings.release_timeout))
        except BaseException as exc:  # incl. cancellation: the lock must still be freed
            settle_release(self._state, None, exc)  # lost: that ends the hold span
            if self._state.parent is not None:
                self._client._background(proto.release_until_done(
                    self._client._targets, self.lease_token, self._state.parent,
                    self._client.settings.release_timeout))
            raise
        settle_release(self._state, result, None)
        self._trace.released()  # unless settle_release found it lost
        return bool(result)

    async def __aenter__(self) -> AsyncLease:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        lost = self.lost_reason
        try:
            await asyncio.shield(self.release())  # even when the block was cancelled
            lost = self.lost_reason  # the release may have found it gone
        except asyncio.CancelledError as late:
            if not self._cancelled or self._victim is None:
                raise
            exc = late  # our own cancellation arrived here rather than in the block
        except Exception as failure:  # it ran under the lock; the lock is freed later
            log.warning("releasing %r failed (%s); %s", self.key, failure, self.lost_reason)
        if self._cancelled and isinstance(exc, asyncio.CancelledError) and self._victim:
            self._victim.uncancel()  # our cancellation, not the caller's: report the loss
            raise errors.LeaseLost(self.key, self.fencing_token,
                                   lost or self.lost_reason or "lost") from exc
        if kind is None and lost is not None:
            raise errors.LeaseLost(self.key, self.fencing_token, lost)  # not under the lock
