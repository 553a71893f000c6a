"""The synchronous face: `LockClient`, and `Lease`, renewed by a background thread.

    from threadlock_client import LockClient, ThreadBusy

    locks = LockClient("127.0.0.1:50051", owner="worker-1")
    try:
        with locks.hold("conv_abc", ttl=30, wait=10) as lease:
            do_work(fencing_token=lease.fencing_token)
            lease.check()  # raises LeaseLost if the lock was lost meanwhile
            more_work()
    except ThreadBusy as busy:
        print(busy.message)  # "conv_abc is busy with another request (held by ...)"

Failure modes: ThreadBusy (the key stayed taken for `wait`), LeaseLost (at a checkpoint, or
when the `with` block ends, if the lease ended under it), Unavailable (no coordinator answered
within the call's budget), InvalidArgument (names the field). The release at exit is bounded
(`release_timeout`) and never hides the body's own exception; if it cannot get through, the
lease lapses after its TTL.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, TypeVar

import grpc

from threadlock_client import _protocol as proto
from threadlock_client import _tracing, errors
from threadlock_client._auth import SyncAuth, make_bearer
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
from threadlock_client._stream import DEFAULT_TRANSPORT, SyncTransport
from threadlock_client._watch import WatchPolicy
from threadlock_client.watching import Watch

T = TypeVar("T")
log = logging.getLogger("threadlock_client")


class LockClient:
    """Locks from one or several coordinators (`addresses`: a list or "h1:p,h2:p"; default
    $THREADLOCK_ADDRESS or 127.0.0.1:50051). With `use_session=True` every lock lives under
    one session lease of this client, renewed once for all: use it when a process holds many
    locks at once. `transport`: "stream" (default: all calls of this client as messages on
    one LockService.Stream per address) or "unary" (one RPC per call). Thread-safe; close it
    (or use `with`) when done."""

    def __init__(self, addresses: str | Sequence[str] | None = None, *, owner: str | None = None,
                 tls: Tls | None = None, use_session: bool = False, session_ttl: float = 30.0,
                 call_timeout: float = 10.0, release_timeout: float = 5.0,
                 token: str | None = None, token_file: str | None = None,
                 api_key: str | None = None, transport: str = DEFAULT_TRANSPORT) -> None:
        self.settings = Settings.make(addresses, owner, tls, call_timeout, release_timeout,
                                      use_session, session_ttl)
        # A coordinator with auth: one of token / token_file (re-read when it changes) /
        # api_key, sent as `authorization: Bearer ...` on every call.
        bearer = make_bearer(token, token_file, api_key)
        opts = self.settings.channel_options()
        self._channels = [grpc.secure_channel(a, tls.credentials(), opts) if tls
                          else grpc.insecure_channel(a, opts) for a in self.settings.addresses]
        if bearer is not None:
            self._channels = [grpc.intercept_channel(c, SyncAuth(bearer))
                              for c in self._channels]
        # "stream" (default): every call multiplexed on one LockService.Stream per address;
        # "unary": one RPC per call (see _stream.py).
        self._transport = SyncTransport(self._channels, bearer, transport)
        self._stubs = [lock_pb2_grpc.LockServiceStub(c) for c in self._channels]  # Watch
        self._targets = proto.Targets(len(self._channels))
        self._session: _Keeper | None = None
        self._session_lock = threading.Lock()
        self._closing = threading.Event()  # stops background release retries

    # --- locks --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def hold(self, key: str, *, ttl: float = 30.0, wait: float = 0.0, owner: str | None = None,
             request_id: str = "", metadata: dict[str, str] | None = None,
             on_lost: Callable[[Lease], None] | None = None) -> Iterator[Lease]:
        """Hold `key` for the `with` block: acquire (queueing up to `wait` seconds; 0 = fail
        fast with ThreadBusy), renew in the background, release on every exit path."""
        with self.acquire(key, ttl=ttl, wait=wait, owner=owner, request_id=request_id,
                          metadata=metadata, on_lost=on_lost) as lease, lease._trace.current():
            yield lease

    def acquire(self, key: str, *, ttl: float = 30.0, wait: float = 0.0,
                owner: str | None = None, request_id: str = "",
                metadata: dict[str, str] | None = None,
                on_lost: Callable[[Lease], None] | None = None) -> Lease:
        """Like `hold` without the block: the Lease renews itself until `release()`.
        With `use_session`, the lock lives on the session's lease and `ttl` is not used."""
        with _tracing.acquire(key, wait, owner or self.settings.owner,
                              self.settings.use_session) as traced:
            got, state = self._acquire(key, ttl, wait, owner, request_id, metadata)
            traced.granted(got.fencing_token)
        return Lease(self, got, state, on_lost)

    def _acquire(self, key: str, ttl: float, wait: float, owner: str | None, request_id: str,
                 metadata: dict[str, str] | None) -> tuple[pb.Lease, proto.LeaseState]:
        for attempt in range(2):  # a second time only if our session turned out to be gone
            session = self._current_session() if self.settings.use_session else None
            state = session.state if session else None
            spec = hold_spec(self.settings, key, ttl, wait, owner, request_id, metadata, state)
            asking = proto.Acquiring(spec, own_request_id=not request_id)
            try:
                got = self.run(proto.acquire(self._targets, asking, self.settings.call_timeout))
            except BaseException as exc:
                if (attempt == 0 and state is not None and maybe_session_ended(exc, state)
                        and self.run(proto.session_gone(self._targets, state,
                                                        self.settings.call_timeout))):
                    continue
                if abandon_after(exc, request_id):  # no answer: leave no lock behind
                    with contextlib.suppress(Exception):
                        self.run(proto.abandon(self._targets, asking.spec,
                                               self.settings.release_timeout))
                raise
            return got, proto.state_of(got, state, asking.expires)
        raise AssertionError("unreachable: the loop returns or raises")

    def status(self, key: str | None = None, prefix: str = "") -> list[pb.LockState]:
        """Holders and waiters of `key`, or of every key starting with `prefix`."""
        return self.run(proto.status(self._targets, key, prefix, self.settings.call_timeout))

    def watch(self, *, prefix: str = "", key: str | None = None, cursor: str = "",
              retry_for: float = 60.0) -> Watch:
        """Lock events of `key`, or of every key starting with `prefix`: a snapshot (unless
        `cursor` resumes), then changes, resumed on UNAVAILABLE with the last cursor on the
        next address. Iterate it; `close()` ends it. See threadlock_client.watching."""
        return Watch(self._stubs, WatchPolicy(proto.Targets(len(self._stubs),
                                                            self._targets.current),
                                              key=key, prefix=prefix, cursor=cursor,
                                              retry_for=retry_for))

    def close(self) -> None:
        """Close the session (its locks are freed at once) and the channels."""
        self._closing.set()
        with self._session_lock:
            session, self._session = self._session, None
        if session is not None:
            session.state.lose("the client closed its session")  # its locks are freed now
            session.stop()
            with contextlib.suppress(Exception):
                self.run(proto.close_session(self._targets, session.state.token,
                                             self.settings.release_timeout))
        self._transport.close()
        for channel in self._channels:
            channel.close()

    def __enter__(self) -> LockClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the driver ---------------------------------------------------------------------------
    def run(self, flow: proto.Flow[T], stop: threading.Event | None = None,
            renewing: _tracing.Hold | None = None) -> T:
        """Perform a protocol flow on this thread (see _protocol.py). Each call is a span
        (_tracing.rpc), except for `renewing` a lease: its failures are events of its hold."""
        value: Any = None
        error: BaseException | None = None
        while True:
            op, result = proto.advance(flow, value, error)
            if op is None:
                return result  # type: ignore[return-value]
            value, error = None, None
            if isinstance(op, proto.Sleep):
                if stop is not None:
                    value = stop.wait(op.seconds)
                else:
                    time.sleep(op.seconds)
                continue
            with (_tracing.rpc(op.method, self.settings.addresses[op.target])
                  if renewing is None
                  else contextlib.nullcontext(_tracing.Rpc(None, renewing.metadata))) as traced:
                try:
                    value = self._transport.call(op, traced.metadata)
                except proto.RpcFailure as failure:
                    error = failure
                    traced.failed(failure.code)
                    if renewing is not None:
                        renewing.renewal_failed(op.method, failure.code)

    def _release_later(self, token: str, session: proto.LeaseState) -> None:
        flow = proto.release_until_done(self._targets, token, session,
                                        self.settings.release_timeout)
        threading.Thread(target=self.run, args=(flow, self._closing), daemon=True,
                         name="threadlock-release-retry").start()

    def _current_session(self) -> _Keeper:
        with self._session_lock:
            if self._session is None or self._session.state.reason() is not None:
                if self._session is not None:
                    self._session.stop()
                state = self.run(proto.open_session(self._targets, self.settings.owner,
                                                    self.settings.session_ttl,
                                                    self.settings.call_timeout))
                self._session = _Keeper(self, state, pb.KeepAliveRequest(
                    session_id=state.token), _tracing.NO_HOLD)
            return self._session


class _Keeper:
    """A daemon thread renewing one lease (a lock's own, or the session's) until stopped."""

    def __init__(self, client: LockClient, state: proto.LeaseState,
                 request: pb.KeepAliveRequest, hold: _tracing.Hold) -> None:
        self.state = state
        self.hold = hold
        self._stop = threading.Event()
        flow = proto.keep(client._targets, state, request, client.settings.call_timeout)
        self._thread = threading.Thread(target=self._run, args=(client, flow), daemon=True,
                                        name=f"threadlock-keepalive {state.key}")
        self._thread.start()

    def _run(self, client: LockClient, flow: proto.Flow[None]) -> None:
        try:
            client.run(flow, self._stop, self.hold)
        except Exception as exc:  # never die silently: the holder must learn of it
            log.exception("renewing %r failed", self.state.key)
            self.state.lose(f"renewal stopped: {exc}")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=1)  # a renewal in flight may finish on its own, later


class Lease(LeaseView):
    """A held lock, renewed in the background while it is held. Use it as a context manager
    (release at exit) or call `release()`. `lost`, `check()` and `wait_lost()` tell of loss."""

    def __init__(self, client: LockClient, lease: pb.Lease, state: proto.LeaseState,
                 on_lost: Callable[[Lease], None] | None = None) -> None:
        super().__init__(lease, state)
        self._client = client
        self._lost = threading.Event()
        self._released = False
        self._trace = _tracing.Hold(lease.key, lease.fencing_token)
        state.listeners.append(self._lost.set)
        state.listeners.append(lambda: self._trace.lost(state.lost_reason or "lost"))
        if on_lost is not None:
            state.listeners.append(lambda: on_lost(self))
        self._keeper = None if state.parent else _Keeper(client, state, pb.KeepAliveRequest(
            lease_token=lease.lease_token), self._trace)

    def wait_lost(self, timeout: float | None = None) -> bool:
        """Block until the lease is lost (True) or `timeout` passes (False); after a release,
        answer at once."""
        if self._released or self.lost:
            return self.lost
        return self._lost.wait(timeout)

    def annotate(self, **metadata: str) -> None:
        """Merge into the lock's metadata, e.g. `annotate(run_id=run.id)`, so `threadlock
        status` shows what the holder is doing; an empty value removes a key."""
        self._client.run(proto.annotate(self._client._targets, self._state, metadata,
                                        self._client.settings.call_timeout))

    def release(self) -> bool:
        """Stop renewing and give the lock back (bounded by release_timeout). True if this
        call released it; False if it was released before, or held nothing any more (then the
        lease is marked lost). If the release fails, the lease is marked lost and the error
        raised; a lock under a session is then released in the background."""
        if self._released:
            return False
        self._released = True
        if self._keeper is not None:
            self._keeper.stop()
        else:
            self._state.forget_parent()
        try:
            with _tracing.release(self.key):
                result = self._client.run(proto.release(
                    self._client._targets, self.lease_token,
                    self._client.settings.release_timeout))
        except Exception as exc:
            settle_release(self._state, None, exc)  # lost: that ends the hold span
            if self._state.parent is not None:
                self._client._release_later(self.lease_token, self._state.parent)
            raise
        settle_release(self._state, result, None)
        self._trace.released()  # unless settle_release found it lost
        return bool(result)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        lost = self.lost_reason
        try:
            self.release()
            lost = self.lost_reason  # the release may have found it gone
        except Exception as failure:  # it ran under the lock; the lock is freed later
            log.warning("releasing %r failed (%s); %s", self.key, failure, self.lost_reason)
        if kind is None and lost is not None:
            raise errors.LeaseLost(self.key, self.fencing_token, lost)  # not under the lock
