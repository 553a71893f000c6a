"""The lock protocol as I/O-free generators. `client.py` (threads) and `aio.py` (asyncio) are
thin drivers that perform what these flows yield, so the policy (deadlines, failover, retry
with the same request_id, renewal, loss detection) exists once.

A flow yields operations and finally returns its result:

    Call(method, request, timeout, target) -> the response; a failure is thrown back in as
                                              RpcFailure(code, details)
    Sleep(seconds)                         -> True if the driver was told to stop meanwhile

Retries: each channel carries gRPC's own retry policy for UNAVAILABLE (see `SERVICE_CONFIG`);
when an address stays unavailable, `call` fails over to the next one and, after a full round,
backs off, all within the caller's deadline. Acquire always carries a request_id, so a retry
(by gRPC or by `call`) gets the same lease back and never a second grant.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from google.protobuf import duration_pb2, timestamp_pb2
from google.protobuf.message import Message

from threadlock_client import errors
from threadlock_client._proto import lock_pb2 as pb

T = TypeVar("T")
log = logging.getLogger("threadlock_client")


def _clock() -> Callable[[], float]:
    """Monotonic time that keeps counting while the machine is suspended (Linux BOOTTIME), so
    a lease is known lost after a suspend longer than its TTL; plain monotonic elsewhere."""
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    if boottime is None:
        return time.monotonic
    return lambda: time.clock_gettime(boottime)


now = _clock()
_LOSS = threading.Lock()
OpT = TypeVar("OpT")
M = TypeVar("M", bound=Message)

SERVICE_CONFIG = json.dumps({"methodConfig": [{
    "name": [{"service": "threadlock.v1.LockService"}],
    "retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.1s", "maxBackoff": "1s",
                    "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]},
}, {
    # Not the long-lived Stream: gRPC would buffer its messages for a replay; a broken
    # stream's calls are retried one by one by `call` instead (_stream.py).
    "name": [{"service": "threadlock.v1.LockService", "method": "Stream"}],
    "waitForReady": False,
}]})


@dataclass(frozen=True)
class Call:
    method: str
    request: Message
    timeout: float
    target: int  # index of the address to call


@dataclass(frozen=True)
class Sleep:
    seconds: float


class RpcFailure(Exception):
    """What a driver throws into a flow when a Call fails."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


class Stopped(Exception):
    """The driver was told to stop while a flow waited (a renewal after its lease's release)."""


Op = Call | Sleep
Flow = Generator[Op, Any, T]


def advance(flow: Generator[OpT, Any, T], value: Any,
            error: BaseException | None) -> tuple[OpT | None, T | None]:
    """One step of a flow for a driver: (next operation, None) or (None, result)."""
    try:
        return (flow.throw(error) if error is not None else flow.send(value)), None
    except StopIteration as done:
        return None, done.value


@dataclass
class Targets:
    """The coordinator addresses and which one is in use (failover moves it)."""

    count: int
    current: int = 0

    def rotate(self) -> None:
        self.current = (self.current + 1) % self.count


def call(targets: Targets, method: str, request: M | Message, deadline: float,
         wait_until: float | None = None) -> Flow[Any]:
    """One RPC, failing over between addresses on UNAVAILABLE (or a hung address: an attempt
    past its share of the budget) until `deadline` (on the `now` clock).
    With `wait_until`, the request is an Acquire whose `wait` shrinks on each retry so that
    the whole call ends by `deadline`."""
    tried = 0
    last = "no attempt"
    while True:
        left = deadline - now()
        if left <= 0:
            raise errors.Unavailable(grpc.StatusCode.UNAVAILABLE,
                                     f"{method}: no coordinator answered in time ({last})")
        waiting = 0.0
        if wait_until is not None:
            assert isinstance(request, pb.AcquireRequest)
            waiting = max(wait_until - now(), 0.0)
            request.wait.CopyFrom(duration(waiting))
        # With several addresses, a hung one must not eat the whole budget: an attempt gets
        # half of what is left (a queued Acquire needs its whole wait, though).
        attempt = left if targets.count == 1 or waiting else max(left / 2, min(left, 1.0))
        try:
            return (yield Call(method, request, attempt, targets.current))
        except RpcFailure as failure:
            hung = failure.code == grpc.StatusCode.DEADLINE_EXCEEDED and attempt < left
            if failure.code != grpc.StatusCode.UNAVAILABLE and not hung:
                raise errors.from_rpc(failure.code, failure.details) from None
            last = failure.details
        tried += 1
        targets.rotate()
        if tried % targets.count == 0:  # every address failed once: back off, within budget
            pause = min(0.1 * 2 ** (tried // targets.count), 2.0, deadline - now())
            if pause > 0 and (yield Sleep(pause)):
                raise Stopped()


# --- lease state, shared by every face ------------------------------------------------------

def margin_of(ttl: float) -> float:
    """A lease is declared lost this long before its guessed expiry: stop before others may
    start."""
    return min(1.0, ttl / 10)


@dataclass
class LeaseState:
    """What the SDK knows about one lease (a lock's own, or a session's). Loss is sticky.
    A lock held under a session has `parent` = the session's state and is lost with it."""

    key: str
    token: str  # lease token, or session id
    fencing_token: int
    ttl: float
    expires: float  # `now` clock: when it lapses unless renewed (a conservative guess)
    parent: LeaseState | None = None
    lost_reason: str | None = None
    released: bool = False  # given back (Release answered): nothing to renew or reuse
    listeners: list[Callable[[], None]] = field(default_factory=list)

    @property
    def margin(self) -> float:
        """Declared lost this long before the guessed expiry: stop before others may start."""
        return margin_of(self.ttl)

    def __post_init__(self) -> None:
        if self.parent is not None:
            self.parent.listeners.append(self._parent_lost)  # pass the session's loss on

    def _parent_lost(self) -> None:
        self.reason()

    def forget_parent(self) -> None:
        """Released: stop listening to the session (it may outlive thousands of locks)."""
        if self.parent is not None and self._parent_lost in self.parent.listeners:
            self.parent.listeners.remove(self._parent_lost)

    def renewed(self, sent: float, ttl: float) -> None:
        self.ttl = ttl
        self.expires = sent + ttl  # counted from when the request left: conservative

    def due_in(self) -> float:
        """Seconds until the next renewal: a third into the TTL, as the contract advises."""
        return max(self.expires - self.ttl * 2 / 3 - now(), 0.0)

    def reason(self) -> str | None:
        if self.lost_reason is None and self.parent is not None:
            parent = self.parent.reason()
            if parent is not None:
                self.lose(f"its session was lost: {parent}")
        elif self.lost_reason is None and self.parent is None and (
                now() >= self.expires - self.margin):
            self.lose("it was not renewed in time (TTL lapsed)")
        return self.lost_reason

    def lose(self, reason: str) -> None:
        with _LOSS:  # renewer thread and holder may both find out: notify once
            if self.lost_reason is not None:
                return
            self.lost_reason = reason
        for notify in list(self.listeners):
            try:
                notify()
            except Exception:  # one bad callback must not keep the others uninformed
                log.exception("a lease-loss listener of %r failed", self.key)

    def check(self) -> None:
        reason = self.reason()
        if reason is not None:
            raise errors.LeaseLost(self.key, self.fencing_token, reason)


# --- flows ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HoldSpec:
    key: str
    owner: str
    ttl: float
    wait: float
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    metadata: dict[str, str] = field(default_factory=dict)
    session_id: str = ""

    def request(self) -> pb.AcquireRequest:
        """The Acquire for this hold (its `wait` is set per attempt by `call`)."""
        request = pb.AcquireRequest(key=self.key, owner=self.owner, metadata=self.metadata,
                                    request_id=self.request_id, session_id=self.session_id)
        if not self.session_id:  # a session's lock lives on the session's TTL
            request.ttl.CopyFrom(duration(self.ttl))
        return request


@dataclass
class Acquiring:
    """One acquisition as a driver tracks it. `spec` is the request last sent: `acquire` may
    replace it (a new request_id, see there), and `abandon` must clean up that one.
    `own_request_id`: the SDK made the request_id up, so it may make another; a caller's own
    request_id is the caller's to retry."""

    spec: HoldSpec
    own_request_id: bool = False
    # Of the grant `acquire` returned: when it lapses at the earliest, on the `now` clock
    # (sent + the coordinator's valid_for), or None from a coordinator without valid_for.
    expires: float | None = None


# The most new request_ids one acquisition makes after ABORTED answers: each normally costs a
# queued lease's TTL, so the caller's `wait` ends first; this only bounds a misbehaving server.
MAX_REQUEST_IDS = 20


def acquire(targets: Targets, spec: HoldSpec | Acquiring,
            call_timeout: float) -> Flow[pb.Lease]:
    """Acquire `spec.key` or raise ThreadBusy. Retries keep one request_id: never two grants.

    ABORTED ("the queued lease ... expired while waiting", or its place taken over) ends that
    request_id's attempt without a grant; it happens when the replica that kept the queued
    lease alive paused or died. For an SDK-made request_id the caller never sees it: the old
    request_id is cleaned up (`abandon`, in case another attempt of it is still alive) and the
    SDK queues again with a new one, within what is left of the caller's `wait`; if the wait
    ran out meanwhile, it tries once more (wait 0), so the caller gets a grant or ThreadBusy,
    the answers a `wait` promises.

    A grant that arrives after its lease may have lapsed (the answer came later than the
    coordinator's `valid_for` allows: this process was paused, the network slow) is never
    handed out: it is released, and the SDK acquires again as after ABORTED, because its
    fencing token may already be older than a later holder's."""
    acq = spec if isinstance(spec, Acquiring) else Acquiring(spec)
    wait_until = now() + acq.spec.wait
    renewed = 0
    while True:
        sent = now()
        try:
            resp = yield from call(targets, "Acquire", acq.spec.request(),
                                   max(wait_until, sent) + call_timeout, wait_until)
        except errors.Conflict as exc:
            # Only an attempt that queued (sent within the wait) is re-sent: a try-once after
            # the wait cannot have lost a queued lease, so its ABORTED is not ours to hide.
            if (not acq.own_request_id or exc.code != grpc.StatusCode.ABORTED
                    or sent >= wait_until or renewed >= MAX_REQUEST_IDS):
                raise
            log.info("acquire of %r: %s; queueing again with a new request_id",
                     acq.spec.key, exc.details)
            yield from abandon(targets, acq.spec, call_timeout)
            renewed += 1
            acq.spec = dataclasses.replace(acq.spec, request_id=uuid.uuid4().hex)
            continue
        assert isinstance(resp, pb.AcquireResponse)
        if resp.WhichOneof("result") != "lease":
            raise busy_error(acq.spec.key, resp.busy)
        lease = resp.lease
        acq.expires = sent + seconds(lease.valid_for) if lease.HasField("valid_for") else None
        if acq.expires is None or now() < acq.expires - margin_of(seconds(lease.ttl)):
            return lease
        log.warning("acquire of %r: the grant (fencing token %d) arrived after its lease may "
                    "have lapsed; releasing it and acquiring again", acq.spec.key,
                    lease.fencing_token)
        with contextlib.suppress(errors.ThreadlockError):
            yield from release(targets, lease.lease_token, call_timeout)
        if not acq.own_request_id or renewed >= MAX_REQUEST_IDS:
            raise errors.Conflict(  # as ABORTED: this request_id is spent, use a new one
                grpc.StatusCode.ABORTED,
                f"the grant of {acq.spec.key!r} arrived after its lease may have lapsed "
                "(this process or the network was too slow); it was released: acquire again "
                "with a new request_id")
        renewed += 1
        acq.spec = dataclasses.replace(acq.spec, request_id=uuid.uuid4().hex)


def keep(targets: Targets, state: LeaseState, request: pb.KeepAliveRequest,
         call_timeout: float) -> Flow[None]:
    """Renew `state` every ttl/3 until stopped. It is lost when the coordinator refuses
    (NOT_FOUND), or when no renewal got through before the lease would lapse."""
    while state.reason() is None:
        if (yield Sleep(state.due_in())):
            return
        sent = now()
        try:
            resp = yield from call(targets, "KeepAlive", request,
                                   min(state.expires - state.margin, sent + call_timeout))
        except Stopped:
            return
        except (errors.NotFound, errors.InvalidArgument) as exc:
            if (yield Sleep(0)):
                return  # released meanwhile: the refusal answers a renewal we no longer need
            state.lose(f"the coordinator refused to renew it ({exc.details})")
        except errors.CoordinatorError as exc:  # transient (unavailable, overloaded, ...)
            if now() >= state.expires - state.margin:
                state.lose(f"no renewal got through before its TTL lapsed ({exc.details})")
            elif (yield Sleep(min(0.2, max(state.expires - state.margin - now(), 0)))):
                return
        else:
            assert isinstance(resp, pb.KeepAliveResponse)
            state.renewed(sent, seconds(resp.ttl))


def annotate(targets: Targets, state: LeaseState, metadata: dict[str, str],
             call_timeout: float) -> Flow[None]:
    """Merge `metadata` into the held lock (Status shows it); renews it as a side effect."""
    state.check()
    sent = now()
    try:
        resp = yield from call(targets, "KeepAlive", pb.KeepAliveRequest(
            lease_token=state.token, metadata=metadata), sent + call_timeout)
    except errors.NotFound as exc:
        state.lose(f"the coordinator no longer knows it ({exc.details})")
        state.check()
        raise
    assert isinstance(resp, pb.KeepAliveResponse)
    if state.parent is None:
        state.renewed(sent, seconds(resp.ttl))


def release(targets: Targets, token: str, timeout: float) -> Flow[bool | None]:
    """Give the lock back: True if released now, False if released before, None if the
    coordinator says the token holds nothing (it expired or was taken from us: a loss)."""
    try:
        resp = yield from call(targets, "Release", pb.ReleaseRequest(lease_token=token),
                               now() + timeout)
    except errors.NotFound:
        return None
    assert isinstance(resp, pb.ReleaseResponse)
    return resp.released


def abandon(targets: Targets, spec: HoldSpec, timeout: float) -> Flow[None]:
    """After an Acquire that got no answer (unavailable, timed out, cancelled), make sure it
    left no lock behind: the same request_id, try-once, returns the grant if one landed;
    release it. Only for a request_id the SDK made up: nobody else can be retrying it (a
    caller's own request_id is the caller's to retry). Best effort and bounded; a queued slot
    is removed by the coordinator itself."""
    deadline = now() + timeout
    try:
        resp = yield from call(targets, "Acquire", spec.request(), deadline)  # wait 0: try once
        if resp.WhichOneof("result") == "lease":
            yield from release(targets, resp.lease.lease_token, max(deadline - now(), 0.5))
    except (errors.ThreadlockError, Stopped) as exc:
        log.debug("cleanup of an unanswered Acquire of %r: %s", spec.key, exc)


def session_gone(targets: Targets, session: LeaseState, timeout: float) -> Flow[bool]:
    """Whether the session really ended (an Acquire's NOT_FOUND may also mean that only its
    queue slot's lease was lost): ask with a KeepAlive, which renews it if it lives."""
    try:
        yield from call(targets, "KeepAlive", pb.KeepAliveRequest(session_id=session.token),
                        now() + timeout)
    except errors.NotFound as exc:
        session.lose(f"the coordinator says it ended ({exc.details})")
        return True
    except errors.ThreadlockError:
        return False
    return False


def release_until_done(targets: Targets, token: str, session: LeaseState,
                       timeout: float) -> Flow[None]:
    """A session lock whose Release failed would be renewed with its session forever: keep
    trying (backing off) until it is released, or the session ends, or the driver stops."""
    pause = 0.5
    while session.reason() is None:
        try:
            yield from release(targets, token, timeout)
            return
        except Stopped:
            return
        except errors.CoordinatorError as exc:
            log.warning("releasing a lock of %s failed again (%s); retrying", session.key, exc)
        if (yield Sleep(pause)):
            return
        pause = min(pause * 2, 10.0)


def open_session(targets: Targets, owner: str, ttl: float,
                 call_timeout: float) -> Flow[LeaseState]:
    sent = now()
    resp = yield from call(targets, "OpenSession", pb.OpenSessionRequest(
        owner=owner, ttl=duration(ttl)), sent + call_timeout)
    assert isinstance(resp, pb.OpenSessionResponse)
    ttl = seconds(resp.ttl)
    return LeaseState(f"session of {owner}", resp.session_id, 0, ttl, sent + ttl)


def close_session(targets: Targets, session_id: str, timeout: float) -> Flow[bool]:
    resp = yield from call(targets, "CloseSession", pb.CloseSessionRequest(
        session_id=session_id), now() + timeout)
    assert isinstance(resp, pb.CloseSessionResponse)
    return resp.closed


def status(targets: Targets, key: str | None, prefix: str,
           call_timeout: float) -> Flow[list[pb.LockState]]:
    """Every lock of `key`, or of keys starting with `prefix`, all pages."""
    locks: list[pb.LockState] = []
    page = ""
    while True:
        request = pb.StatusRequest(page_size=500, page_token=page)
        if key is not None:
            request.key = key
        else:
            request.prefix = prefix
        resp = yield from call(targets, "Status", request, now() + call_timeout)
        assert isinstance(resp, pb.StatusResponse)
        locks.extend(resp.locks)
        page = resp.next_page_token
        if not page:
            return locks


def state_of(lease: pb.Lease, parent: LeaseState | None,
             expires: float | None = None) -> LeaseState:
    """The state of a fresh grant. `expires`: from the coordinator's valid_for (see
    `acquire`), skew-free and right even for a late answer; at most a TTL from now. Without
    it (an older coordinator), the server's expires_at is read against our wall clock,
    clamped to [ttl/2, ttl] so that clock skew can neither declare it lost at once nor let it
    look longer than a TTL. With less than 2/3 left, the first renewal goes at once."""
    ttl = seconds(lease.ttl)
    if expires is None:
        left = lease.expires_at.ToNanoseconds() / 1e9 - time.time()
        expires = now() + min(max(left, ttl / 2), ttl)
    return LeaseState(lease.key, lease.lease_token, lease.fencing_token, ttl,
                      min(expires, now() + ttl), parent)


def busy_error(key: str, busy: pb.Busy) -> errors.ThreadBusy:
    h = busy.holder
    message = busy.message or (f"{key} is busy with another request. "
                               "Please wait for it to finish and try again.")
    return errors.ThreadBusy(
        key, message, holder=h.owner, holder_since=timestamp(h.acquired_at),
        holder_until=timestamp(h.expires_at), waiters=busy.waiters,
        fencing_token=h.fencing_token, metadata=dict(h.metadata), waited=seconds(busy.waited))


def duration(value: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(max(value, 0.0) * 1e9))
    return d


def seconds(d: duration_pb2.Duration) -> float:
    return d.seconds + d.nanos / 1e9


def timestamp(ts: timestamp_pb2.Timestamp) -> dt.datetime | None:
    if not ts.seconds and not ts.nanos:
        return None
    return dt.datetime.fromtimestamp(ts.ToNanoseconds() / 1e9, tz=dt.UTC)
