"""The write-path fuzzer's two transports, driven raw (grpc.aio stubs, not the SDK) so the
fuzzer decides exactly how a call is cut off: a unary call with a gRPC deadline, or a frame on
a LockService.Stream (one stream per worker per replica, reopened when it breaks) whose
client-side deadline either sends a StreamCancel frame, abandons the answer, or tears the
whole stream down (cancels the gRPC call).

The stream side also checks the contract's promises about frames, as violations:
- every answer names a call_id sent on that stream and not answered yet (never twice, never
  one that was not asked), and its result is the call's kind or an error;
- a stream the client ends (done_writing) is answered for every call in flight, cancelled
  and abandoned ones included, then ends with OK.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import grpc
import grpc.aio
from google.protobuf.message import Message
from harness import dur

from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc

# StreamRequest's oneof field -> the unary method of the same call.
UNARY = {"acquire": "Acquire", "release": "Release", "keep_alive": "KeepAlive",
         "open_session": "OpenSession", "close_session": "CloseSession"}
CUTS = ("cancel", "abandon", "teardown")
_CODES = {c.value[0]: c for c in grpc.StatusCode}


class Failed(Exception):
    """A call that did not answer with a response: its status code (DEADLINE_EXCEEDED when
    the client cut it off)."""

    def __init__(self, code: grpc.StatusCode, message: str = "") -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code


@dataclass
class StreamTally:
    """What happened on the streams of one run (shared by every worker's streams)."""

    opened: int = 0
    ended: int = 0  # streams the client ended that then ended with OK (close() checked them)
    broken: int = 0  # streams that ended without the client ending them (teardowns included)
    cancels: int = 0  # StreamCancel frames sent
    abandons: int = 0
    teardowns: int = 0
    late_answers: int = 0  # answers that arrived after the client gave up on the call
    late_cancelled: int = 0  # ... of which CANCELLED (the cancel frame took effect)
    late_grants: int = 0  # ... of which a granted Acquire (never used: as a cut-off unary)
    violations: list[str] = field(default_factory=list)


async def unary(stub: lock_pb2_grpc.LockServiceStub, which: str, request: Message,
                timeout: float) -> Any:
    try:
        return await getattr(stub, UNARY[which])(request, timeout=timeout)
    except grpc.aio.AioRpcError as exc:
        raise Failed(exc.code(), exc.details() or "") from None


class StreamConn:
    """One worker's stream to one replica. Calls are sequential (a worker waits for each), so
    writes never overlap; the reader task routes answers by call_id."""

    def __init__(self, stub: lock_pb2_grpc.LockServiceStub, tally: StreamTally) -> None:
        self.stub = stub
        self.tally = tally
        self.call: Any = None  # grpc.aio.StreamStreamCall while open
        self.reader: asyncio.Task[None] | None = None
        self.next_id = 0
        self.closing = False
        self.sent: dict[int, str] = {}  # call_id -> kind, sent and not answered yet
        self.waiting: dict[int, asyncio.Future[pb.StreamResponse]] = {}
        self.given_up: set[int] = set()

    def _open(self) -> Any:
        if self.call is None:
            self.call = self.stub.Stream()
            self.reader = asyncio.create_task(self._read(self.call))
            self.tally.opened += 1
        return self.call

    def _detach(self, code: grpc.StatusCode) -> None:
        """The stream is gone: its calls fail like calls on a broken connection."""
        for fut in self.waiting.values():
            if not fut.done():
                fut.set_exception(Failed(code, "stream ended"))
        self.waiting.clear()
        self.sent.clear()
        self.given_up.clear()
        self.call = None

    def answer(self, resp: pb.StreamResponse) -> None:
        """Route one answer; check it answers a call in flight, once, with its kind."""
        cid = resp.call_id
        kind = self.sent.pop(cid, None)
        result = resp.WhichOneof("result")
        if kind is None:
            self.tally.violations.append(f"stream answer for call_id {cid} ({result}) that "
                                         "is not in flight (unknown or answered twice)")
            return
        if result not in (kind, "error"):
            self.tally.violations.append(f"call_id {cid} ({kind}) answered with {result}")
        fut = self.waiting.pop(cid, None)
        if fut is not None:
            fut.set_result(resp)
        elif cid in self.given_up:
            self.given_up.discard(cid)
            self.tally.late_answers += 1
            if result == "error" and resp.error.code == grpc.StatusCode.CANCELLED.value[0]:
                self.tally.late_cancelled += 1
            if result == "acquire" and resp.acquire.WhichOneof("result") == "lease":
                self.tally.late_grants += 1

    async def _read(self, call: Any) -> None:
        try:
            while (resp := await call.read()) is not grpc.aio.EOF:
                if self.call is call:
                    self.answer(resp)
            if self.call is call:
                if not self.closing:
                    self.tally.violations.append("the server ended a stream the client "
                                                 "had not finished")
                elif self.sent:
                    self.tally.violations.append(
                        f"stream ended with calls {sorted(self.sent.items())} unanswered")
                else:
                    self.tally.ended += 1
        except grpc.aio.AioRpcError:
            pass
        finally:
            if self.call is call:
                self.tally.broken += not self.closing
                self._detach(grpc.StatusCode.UNAVAILABLE)

    async def request(self, which: str, request: Message, timeout: float,
                      frame_timeout: float | None, cut: str) -> Any:
        """One call as a frame: its response, or Failed. Past `timeout` the client cuts it
        off as `cut` says ("cancel" | "abandon" | "teardown")."""
        call = self._open()
        self.next_id += 1
        cid = self.next_id
        frame = pb.StreamRequest(call_id=cid)
        getattr(frame, which).CopyFrom(request)
        if frame_timeout is not None:
            frame.timeout.CopyFrom(dur(frame_timeout))
        fut: asyncio.Future[pb.StreamResponse] = asyncio.get_running_loop().create_future()
        self.sent[cid], self.waiting[cid] = which, fut
        try:
            await call.write(frame)
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError) as exc:
            self.teardown()
            raise Failed(grpc.StatusCode.UNAVAILABLE, f"write: {exc!r}") from None
        done, _ = await asyncio.wait({fut}, timeout=timeout)
        if not done:
            self.waiting.pop(cid, None)
            self.given_up.add(cid)
            if cut == "cancel":
                self.tally.cancels += 1
                try:
                    await call.write(pb.StreamRequest(call_id=cid, cancel=pb.StreamCancel()))
                except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
                    self.teardown()
            elif cut == "abandon":
                self.tally.abandons += 1
            else:
                self.tally.teardowns += 1
                self.teardown()
            raise Failed(grpc.StatusCode.DEADLINE_EXCEEDED, f"cut off ({cut})")
        resp = fut.result()  # raises Failed if the stream broke meanwhile
        if resp.WhichOneof("result") == "error":
            raise Failed(_CODES.get(resp.error.code, grpc.StatusCode.UNKNOWN),
                         resp.error.message)
        return getattr(resp, which)

    def teardown(self) -> None:
        """Cancel the whole gRPC call: every call on it is cut off."""
        call = self.call
        if call is not None:
            self.tally.broken += 1
            self._detach(grpc.StatusCode.CANCELLED)
            call.cancel()

    async def close(self, within: float = 30.0) -> None:
        """End the stream as a client must: done_writing, then every answer, then OK."""
        call, reader = self.call, self.reader
        if call is None or reader is None:
            return
        self.closing = True
        try:
            await call.done_writing()
            await asyncio.wait_for(asyncio.shield(reader), within)
        except TimeoutError:
            self.tally.violations.append(f"stream not ended {within:g} s after the client "
                                         "finished sending")
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
            pass
        finally:
            self.teardown()
            self.reader = None
            with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
                await reader
