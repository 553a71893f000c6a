"""Group commit: the lock Txns of this replica's calls in flight go to etcd as one Txn of
nested sub-transactions (`RequestOp.request_txn`), several batches in flight.

etcd fsyncs once per raft batch anyway; a batch saves the per-request gRPC, raft and apply
cost, which is most of a lock cycle's cost on both sides. Each sub-transaction is exactly the
Txn its caller would have sent alone, and answers exactly as it would have. etcd's rules for
nested transactions, and how a batch keeps them:

- `--max-txn-ops` (128 by default) counts the ops of each level: a batch holds at most
  `MAX_SUBS` sub-transactions, and each sub-transaction is one of ours (a handful of ops).
- A key may be written only once across the whole Txn (`checkIntervals`: else the whole Txn is
  refused as a duplicate key), and one call's compares must not depend on whether another
  call of the batch applied first: a batch never holds two calls on the same lock key
  (`lock`). Every key a lock Txn writes (contender, tombstone) or compares (those, the fence of
  its attempt, the session record, which no batched Txn writes) belongs to one lock key or is
  only read, so the calls of a batch touch disjoint keys and are independent of their order.
- All writes of a Txn share one revision. A contender's create revision is its fencing token
  and its queue position: two contenders of one lock in one batch would share both. The same
  one-call-per-lock-key rule keeps them in separate batches; contenders of different locks may
  share a revision (a fencing token orders the holders of one lock).
- A put on a lease that is gone fails the whole Txn, and nothing of it applies: a batch that
  gets "lease not found" (or any refusal) is split in halves, each sent again, down to the
  call that caused it, which gets the error it would have got alone.
- A batch whose answer was lost (etcd unavailable, deadline) may have applied: every call in it
  gets Unavailable, as it would have alone; callers already treat that as "may have applied".
- A call whose caller leaves (timeout, cancellation) before its batch is sent is dropped from
  it; after, its outcome is unknown to it, as for a single request whose answer was lost.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass, field

from threadlock.errors import LockError, Unavailable
from threadlock.etcd.client import EtcdClient
from threadlock.internal.etcd import rpc_pb2 as pb
from threadlock.timeouts import within

MAX_SUBS = 64  # sub-transactions per batch: under --max-txn-ops (128), counted per level
MAX_BYTES = 512 * 1024  # request bytes per batch: well under --max-request-bytes (1.5 MiB)
# Batches awaiting etcd at once; calls arriving meanwhile form the next. Fewer in flight make
# bigger batches: 2 against 4 took sdk-stream at 32 clients from ~740 to ~835 pairs/s (0.44 ->
# 0.31 Txns per pair; A/B alternated, quiet machine, 2026-12-06). 1 batched more still (0.18)
# but was no faster, and one slow batch would then hold back every call of the replica.
MAX_IN_FLIGHT = 2


@dataclass(eq=False)
class _Call:
    req: pb.TxnRequest
    lock: bytes  # the lock key it touches: never two calls of one lock in a batch
    what: str
    deadline: float
    fut: asyncio.Future[pb.TxnResponse]
    size: int = field(default=0)


class TxnBatcher:
    def __init__(self, client: EtcdClient, max_subs: int = MAX_SUBS,
                 max_in_flight: int = MAX_IN_FLIGHT, max_bytes: int = MAX_BYTES) -> None:
        self.client = client
        self.max_subs = max_subs
        self.max_in_flight = max_in_flight
        self.max_bytes = max_bytes
        self._pending: collections.deque[_Call] = collections.deque()
        self._in_flight = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0  # Txns sent (a split counts each half), for tests and the bench
        self.calls = 0  # sub-transactions answered through a batch of more than one

    async def txn(self, req: pb.TxnRequest, lock: bytes, deadline: float,
                  what: str) -> pb.TxnResponse:
        """`req`'s answer, as if it had been sent alone (its header: the batch's)."""
        if self.client.refused is not None:  # as client.call would: fail before queueing
            return await self.client.call(lambda s: s.kv.Txn, req, deadline, what)  # type: ignore[no-any-return]
        timeout = self.client.timeout(deadline, what)
        fut: asyncio.Future[pb.TxnResponse] = asyncio.get_running_loop().create_future()
        self._pending.append(_Call(req, lock, what, deadline, fut, req.ByteSize()))
        self._kick()
        try:
            # Cancels `fut` when the caller leaves: an unsent call is then dropped.
            return await within(fut, timeout)
        except TimeoutError as exc:
            raise Unavailable(f"etcd did not answer {what} in time") from exc

    def _kick(self) -> None:
        # On the next loop turn: calls made in this one join the same batch.
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        while self._pending and self._in_flight < self.max_in_flight:
            batch = self._take()
            if not batch:
                break
            self._in_flight += 1
            task = asyncio.create_task(self._send(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _take(self) -> list[_Call]:
        """The oldest calls that may share a Txn; the others stay queued, in order."""
        batch: list[_Call] = []
        locks: set[bytes] = set()
        size = 0
        rest: collections.deque[_Call] = collections.deque()
        while self._pending:
            call = self._pending.popleft()
            if call.fut.done():  # its caller left before it was sent
                continue
            if (call.lock in locks or len(batch) >= self.max_subs
                    or (batch and size + call.size > self.max_bytes)):
                rest.append(call)
                continue
            batch.append(call)
            locks.add(call.lock)
            size += call.size
        self._pending = rest
        return batch

    async def _send(self, batch: list[_Call]) -> None:
        try:
            await self._commit(batch)
        finally:
            for call in batch:  # only if it ended early (shutdown): nobody waits forever
                _fail(call, Unavailable("the coordinator is shutting down"))
            self._in_flight -= 1
            if self._pending:
                self._kick()

    async def _commit(self, batch: list[_Call]) -> None:
        batch = [c for c in batch if not c.fut.done()]
        if not batch:
            return
        self.batches += 1
        if len(batch) == 1:  # alone: the plain Txn, as without batching
            call = batch[0]
            try:
                resp = await self.client.call(lambda s: s.kv.Txn, call.req, call.deadline,
                                              call.what)
            except LockError as exc:
                _fail(call, exc)
            else:
                if not call.fut.done():
                    call.fut.set_result(resp)
            return
        # No compare: every sub-transaction runs, each deciding on its own compares.
        outer = pb.TxnRequest(success=[pb.RequestOp(request_txn=c.req) for c in batch])
        what = "batch"  # also the op label of threadlock_etcd_errors_total: a fixed set
        try:
            resp = await self.client.call(lambda s: s.kv.Txn, outer,
                                          max(c.deadline for c in batch), what)
        except Unavailable as exc:  # the answer was lost: it may have applied
            for call in batch:
                _fail(call, exc)
            return
        except LockError:  # refused as a whole, nothing applied: find whose op caused it
            half = len(batch) // 2
            await asyncio.gather(self._commit(batch[:half]), self._commit(batch[half:]))
            return
        self.calls += len(batch)
        for call, op in zip(batch, resp.responses, strict=True):
            sub = op.response_txn
            sub.header.CopyFrom(resp.header)  # nested answers carry no header of their own
            if not call.fut.done():
                call.fut.set_result(sub)

    async def close(self) -> None:
        for call in self._pending:
            _fail(call, Unavailable("the coordinator is shutting down"))
        self._pending.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _fail(call: _Call, exc: Exception) -> None:
    if not call.fut.done():
        call.fut.set_exception(exc)
