"""The etcd Store: each Store method is one etcd request (see store.py for the model); the
lock Txns of calls in flight share a request (group commit, batch.py).

Keys under the configurable prefix P:
    P k/<key>\\x00<uid>   a contender (holder or waiter) of <key>, on its lease
    P t/<uid>            a tombstone: <uid> was released (on a rotating 90 s lease)
    P s/<lease>/<nonce>  a session record, on the session's lease
    P a/<attempt>        a fence: that attempt's session enqueue must not apply any more
Keys may not contain control characters, so \\x00 ends <key> unambiguously and the
contenders of one key are the range [P k/<key>\\x00, P k/<key>\\x01).
"""

from __future__ import annotations

import contextlib
import logging
import time

from threadlock.errors import Unavailable
from threadlock.etcd import versions
from threadlock.etcd.batch import TxnBatcher
from threadlock.etcd.client import ErrorHook, EtcdClient, Tls
from threadlock.etcd.keepalive import LeaseKeeper
from threadlock.etcd.leases import LeasePool
from threadlock.etcd.watch import WatchHub
from threadlock.internal import state_pb2
from threadlock.internal.etcd import kv_pb2
from threadlock.internal.etcd import rpc_pb2 as pb
from threadlock.store import Ahead, Contender, Enqueued, LeaseGone, Outcome, Removed

log = logging.getLogger("threadlock.etcd")
CMP, RNG = pb.Compare, pb.RangeRequest
COUNT_PAGE = 1000  # keys per read when counting locks for metrics


def _eq_create(key: bytes, rev: int, range_end: bytes = b"") -> pb.Compare:
    return CMP(result=CMP.EQUAL, target=CMP.CREATE, key=key, range_end=range_end,
               create_revision=rev)


def _bytes(entry: state_pb2.Entry) -> bytes:
    return entry.SerializeToString(deterministic=True)


def _eq_mod(key: bytes, rev: int) -> pb.Compare:
    return CMP(result=CMP.EQUAL, target=CMP.MOD, key=key, mod_revision=rev)


def _put(key: bytes, value: bytes, lease: int, ignore_lease: bool = False) -> pb.RequestOp:
    return pb.RequestOp(request_put=pb.PutRequest(key=key, value=value, lease=lease,
                                                  ignore_lease=ignore_lease))


def _range(key: bytes, end: bytes = b"", **kw: object) -> pb.RequestOp:
    return pb.RequestOp(request_range=RNG(key=key, range_end=end, **kw))  # type: ignore[arg-type]


def _delete(key: bytes) -> pb.RequestOp:
    return pb.RequestOp(request_delete_range=pb.DeleteRangeRequest(key=key))


def prefix_end(prefix: bytes) -> bytes:
    """The smallest key greater than every key starting with `prefix`."""
    b = bytearray(prefix)
    while b and b[-1] == 0xFF:
        b.pop()
    if not b:
        return b"\x00"
    b[-1] += 1
    return bytes(b)


class EtcdStore:
    def __init__(self, client: EtcdClient, prefix: str) -> None:
        self.client = client
        self.p = prefix.encode()
        self.keeper = LeaseKeeper(client)
        self.hub = WatchHub(client)
        self.batcher = TxnBatcher(client)
        self.pool = LeasePool(self.keeper)
        self.version_known = False

    @classmethod
    async def connect(cls, endpoints: list[str], prefix: str, tls: Tls | None,
                      op_timeout: float, on_error: ErrorHook | None = None) -> EtcdStore:
        """A store for `endpoints`; does not wait for etcd (health reports when it is up).
        `on_error(op, code)` hears of every failed etcd request (for metrics).

        Raises versions.EtcdVersionRefused (a StartupError) when an endpoint that answers
        within `op_timeout` runs a refused etcd version; when none answers, ping() checks."""
        client = (EtcdClient(endpoints, tls, op_timeout) if on_error is None
                  else EtcdClient(endpoints, tls, op_timeout, on_error))
        store = cls(client, prefix)
        try:
            await store.check_version(time.monotonic() + op_timeout)
        except BaseException:
            await store.close()
            raise
        if not store.version_known:
            log.warning("etcd did not answer at start-up: its version is checked once it does",
                        extra={"endpoints": client.endpoints})
        return store

    async def check_version(self, deadline: float) -> None:
        """versions.check_members, remembered once a member answered."""
        if await versions.check_members(self.client, deadline):
            self.version_known = True

    # Key layout ---------------------------------------------------------------------------
    def _group(self, key: str) -> tuple[bytes, bytes]:
        base = self.p + b"k/" + key.encode()
        return base + b"\x00", base + b"\x01"

    def _ckey(self, key: str, uid: str) -> bytes:
        return self._group(key)[0] + uid.encode()

    def _tomb(self, uid: str) -> bytes:
        return self.p + b"t/" + uid.encode()

    def _fence(self, attempt: str) -> bytes:
        return self.p + b"a/" + attempt.encode()

    def _session(self, lease: int, nonce: str) -> bytes:
        return self.p + f"s/{lease:x}/{nonce}".encode()

    def _contender(self, kv: kv_pb2.KeyValue) -> Contender:
        rest = kv.key[len(self.p) + 2:]
        key, _, uid = rest.partition(b"\x00")
        entry = state_pb2.Entry()
        entry.ParseFromString(kv.value)
        return Contender(key.decode(), uid.decode(), kv.create_revision, kv.lease, entry,
                         kv.mod_revision)

    async def _txn(self, req: pb.TxnRequest, deadline: float, what: str,
                   lock: str | None = None) -> pb.TxnResponse:
        """One Txn; with `lock`, the lock key all its keys belong to, batched (batch.py)."""
        if lock is not None:
            return await self.batcher.txn(req, self._group(lock)[0], deadline, what)
        resp: pb.TxnResponse = await self.client.call(lambda s: s.kv.Txn, req, deadline, what)
        return resp

    # Leases -------------------------------------------------------------------------------
    async def grant(self, ttl: int, deadline: float) -> int:
        pooled = await self.pool.take(ttl, deadline)
        if pooled is not None:
            return pooled
        return (await self._grant_new(ttl, deadline))[0]

    async def lock_lease(self, ttl: int, deadline: float) -> tuple[int, float]:
        pooled = await self.pool.take_for_lock(ttl, deadline)
        if pooled is not None:
            return pooled
        return await self._grant_new(ttl, deadline)

    async def _grant_new(self, ttl: int, deadline: float) -> tuple[int, float]:
        sent = time.monotonic()
        resp = await self.client.call(lambda s: s.lease.LeaseGrant,
                                      pb.LeaseGrantRequest(TTL=ttl), deadline, "lease grant")
        if resp.error:
            raise LeaseGone(f"lease grant: {resp.error}")
        until = sent + resp.TTL  # etcd may raise a TTL below its minimum, never lower one
        self.keeper.note(int(resp.ID), until)
        return int(resp.ID), until

    async def revoke(self, lease: int, deadline: float) -> None:
        self.keeper.forget(lease)
        with contextlib.suppress(LeaseGone):
            await self.client.call(lambda s: s.lease.LeaseRevoke,
                                   pb.LeaseRevokeRequest(ID=lease), deadline, "lease revoke")

    def recycle(self, lease: int, ttl: int) -> bool:
        return self.pool.put(lease, ttl)

    async def renew(self, lease: int, deadline: float) -> int:
        return await self.keeper.renew(lease, deadline)

    async def time_to_live(self, lease: int, deadline: float) -> tuple[int, int]:
        resp = await self.client.call(lambda s: s.lease.LeaseTimeToLive,
                                      pb.LeaseTimeToLiveRequest(ID=lease), deadline,
                                      "lease time-to-live")
        if resp.TTL < 0:  # -1: expired or never existed
            return -1, 0
        return int(resp.TTL), int(resp.grantedTTL)  # rounded down: 0 = under a second left

    # Contenders ---------------------------------------------------------------------------
    async def enqueue(self, key: str, uid: str, entry: state_pb2.Entry, lease: int,
                      queue: bool, deadline: float,
                      session: tuple[int, str] | None = None,
                      mark_granted: bool = True) -> Enqueued:
        lo, hi = self._group(key)
        me, tomb = self._ckey(key, uid), self._tomb(uid)
        put_me = _put(me, _bytes(entry), lease)
        granted = state_pb2.Entry()
        granted.CopyFrom(entry)
        if mark_granted:
            granted.acquired_at_us = entry.queued_at_us
        if queue:  # join the queue; read ourselves and the contender just before us
            then = [put_me, _range(lo, hi, sort_order=RNG.DESCEND, sort_target=RNG.CREATE,
                                   limit=2)]
        else:  # try once: only read the holder
            then = [_range(lo, hi, sort_order=RNG.ASCEND, sort_target=RNG.CREATE, limit=1)]
        req = pb.TxnRequest(
            # Nobody holds or waits for the key (an empty range compares as create == 0),
            # and this uid was not released already:
            compare=[_eq_create(lo, 0, hi), _eq_create(tomb, 0)],
            # -> it is ours.
            success=[_put(me, _bytes(granted), lease)],
            failure=[pb.RequestOp(request_txn=pb.TxnRequest(
                # Else, unless this uid is already a contender or was released:
                compare=[_eq_create(me, 0), _eq_create(tomb, 0)],
                # -> queue (or report the holder),
                success=then,
                # -> else report the existing contender / the tombstone.
                failure=[_range(me), _range(tomb, count_only=True)]))])
        # This attempt was not fenced off after its answer got lost,
        guard = [_eq_create(self._fence(entry.attempt), 0)]
        if session is not None:  # and the session record exists (else it ended, or is forged)
            guard.append(CMP(result=CMP.GREATER, target=CMP.CREATE, create_revision=0,
                             key=self._session(*session)))
        # -> everything above; else nothing.
        req = pb.TxnRequest(compare=guard, success=[pb.RequestOp(request_txn=req)])
        resp = await self._txn(req, deadline, "acquire", key)
        revision = resp.header.revision  # nested responses carry no header of their own
        if not resp.succeeded:
            raise LeaseGone("session not found, or this attempt was fenced off")
        resp = resp.responses[0].response_txn
        if resp.succeeded:
            return Enqueued(Outcome.GRANTED,
                            Contender(key, uid, revision, lease, granted, revision), count=1)
        inner = resp.responses[0].response_txn
        if not inner.succeeded:
            existing = inner.responses[0].response_range.kvs
            if existing:
                return Enqueued(Outcome.EXISTS, self._contender(existing[0]))
            return Enqueued(Outcome.RELEASED)
        found = inner.responses[-1].response_range
        if not queue:
            holder = self._contender(found.kvs[0]) if found.kvs else None
            return Enqueued(Outcome.BUSY, holder=holder, count=int(found.count))
        mine = self._contender(found.kvs[0])
        pred = self._contender(found.kvs[1]) if len(found.kvs) > 1 else None
        return Enqueued(Outcome.QUEUED, mine, predecessor=pred, count=int(found.count))

    async def get(self, key: str, uid: str, deadline: float) -> Contender | None:
        resp = await self.client.call(lambda s: s.kv.Range, RNG(key=self._ckey(key, uid)),
                                      deadline, "read")
        return self._contender(resp.kvs[0]) if resp.kvs else None

    async def ahead(self, c: Contender, deadline: float) -> Ahead:
        resp = await self._txn(pb.TxnRequest(success=self._ahead_reads(c)), deadline,
                               "queue read")
        return self._ahead(c, resp)

    def _ahead_reads(self, c: Contender) -> list[pb.RequestOp]:
        lo, hi = self._group(c.key)
        return [
            # Do we still exist (with our revision)?
            _range(self._ckey(c.key, c.uid), keys_only=True),
            # The newest contender older than us, if any.
            _range(lo, hi, max_create_revision=c.revision - 1, sort_order=RNG.DESCEND,
                   sort_target=RNG.CREATE, limit=1)]

    def _ahead(self, c: Contender, resp: pb.TxnResponse) -> Ahead:
        mine, before = (r.response_range.kvs for r in resp.responses)
        alive = bool(mine) and mine[0].create_revision == c.revision
        pred = self._contender(before[0]) if before else None
        return Ahead(alive, pred, alive and mine[0].mod_revision != c.mod_revision)

    async def wait_gone(self, contenders: list[Contender], deadline: float) -> None:
        await self.hub.wait_deleted(
            [(self._ckey(c.key, c.uid), c.revision) for c in contenders], deadline)

    async def claim(self, c: Contender, entry: state_pb2.Entry, deadline: float,
                    lease: int = 0) -> Contender | None:
        me = self._ckey(c.key, c.uid)
        resp = await self._txn(pb.TxnRequest(
            compare=[_eq_mod(me, c.mod_revision),  # nobody wrote it since we read it,
                     _eq_create(self._fence(entry.attempt), 0)],  # and we are not fenced off
            # -> ours: keep its lease, or move it (a put keeps the create revision).
            success=[_put(me, _bytes(entry), lease, ignore_lease=not lease)]),
            deadline, "claim", c.key)
        if not resp.succeeded:
            return None
        return Contender(c.key, c.uid, c.revision, lease or c.lease, entry,
                         resp.header.revision)

    async def claim_head(self, c: Contender, entry: state_pb2.Entry, deadline: float,
                         lease: int = 0) -> Contender | Ahead:
        me = self._ckey(c.key, c.uid)
        lo, hi = self._group(c.key)
        resp = await self._txn(pb.TxnRequest(
            compare=[_eq_mod(me, c.mod_revision),  # nobody wrote it since we read it,
                     _eq_create(self._fence(entry.attempt), 0),  # we are not fenced off,
                     # and nobody is ahead (a range compare holds for every key in it),
                     CMP(result=CMP.GREATER, target=CMP.CREATE, key=lo, range_end=hi,
                         create_revision=c.revision - 1)],
            # -> ours, as in claim;
            success=[_put(me, _bytes(entry), lease, ignore_lease=not lease)],
            failure=self._ahead_reads(c)),  # -> else: where do we stand?
            deadline, "claim", c.key)
        if not resp.succeeded:
            return self._ahead(c, resp)
        return Contender(c.key, c.uid, c.revision, lease or c.lease, entry,
                         resp.header.revision)

    async def fence(self, attempt: str, lease: int, deadline: float) -> None:
        await self.client.call(lambda s: s.kv.Put, pb.PutRequest(
            key=self._fence(attempt), lease=lease), deadline, "fence")

    async def remove(self, key: str, uid: str, revision: int, lease: int,
                     tombstone_lease: int, deadline: float) -> tuple[Removed, Contender | None]:
        me, tomb = self._ckey(key, uid), self._tomb(uid)
        then = [pb.RequestOp(request_delete_range=pb.DeleteRangeRequest(key=me, prev_kv=True))]
        if tombstone_lease:
            then.append(_put(tomb, b"", tombstone_lease))
        resp = await self._txn(pb.TxnRequest(
            compare=[_eq_create(me, revision),  # the very contender the token names,
                     CMP(result=CMP.EQUAL, target=CMP.LEASE, key=me, lease=lease)],  # its lease
            success=then,  # -> delete it, remember the release
            failure=[_range(tomb, count_only=True)]),  # -> was it released before?
            deadline, "release", key)
        if resp.succeeded:
            return Removed.REMOVED, self._contender(
                resp.responses[0].response_delete_range.prev_kvs[0])
        if resp.responses[0].response_range.count:
            return Removed.ALREADY, None
        return Removed.GONE, None

    async def discard(self, c: Contender, deadline: float) -> bool:
        me = self._ckey(c.key, c.uid)
        resp = await self._txn(pb.TxnRequest(
            compare=[_eq_mod(me, c.mod_revision)],  # still as its last writer left it
            success=[_delete(me)]), deadline, "queue cleanup", c.key)
        return bool(resp.succeeded)

    async def head(self, key: str, deadline: float) -> tuple[Contender | None, int]:
        lo, hi = self._group(key)
        resp = await self.client.call(
            lambda s: s.kv.Range,
            RNG(key=lo, range_end=hi, sort_order=RNG.ASCEND, sort_target=RNG.CREATE, limit=1),
            deadline, "read")
        return (self._contender(resp.kvs[0]) if resp.kvs else None), int(resp.count)

    async def scan(self, prefix: str, exact: bool, after: str, max_keys: int,
                   deadline: float) -> tuple[list[list[Contender]], bool]:
        if exact:
            start, end = self._group(prefix)
        else:
            start = self.p + b"k/" + prefix.encode()
            end = prefix_end(start)
        if after:
            start = max(start, self._group(after)[1])
        groups: list[list[Contender]] = []
        while len(groups) <= max_keys and start < end:
            resp = await self.client.call(
                lambda s: s.kv.Range, RNG(key=start, range_end=end, limit=max_keys * 4 + 16),
                deadline, "status read")
            batch = [self._contender(kv) for kv in resp.kvs]
            for c in batch:
                if groups and groups[-1][0].key == c.key:
                    groups[-1].append(c)
                else:
                    groups.append([c])
            if not resp.more:
                break
            start = resp.kvs[-1].key + b"\x00"
        more = len(groups) > max_keys or (start < end and bool(groups) and resp.more)
        groups = groups[:max_keys]
        for g in groups:
            g.sort(key=lambda c: c.revision)
        return groups, more

    async def count(self, deadline: float) -> tuple[int, int]:
        start = self.p + b"k/"
        end = prefix_end(start)
        keys = contenders = revision = 0
        last = b""
        while True:
            # Keys only, in pages, all at the first page's revision (one consistent snapshot);
            # serializable: any member answers from its own copy, the leader is not asked.
            resp = await self.client.call(lambda s: s.kv.Range, RNG(
                key=start, range_end=end, keys_only=True, serializable=True,
                limit=COUNT_PAGE, revision=revision), deadline, "count")
            revision = revision or resp.header.revision
            for kv in resp.kvs:
                name = kv.key.partition(b"\x00")[0]  # P k/<key>: \x00 ends <key>
                contenders += 1
                if name != last:
                    keys, last = keys + 1, name
            if not resp.more or not resp.kvs:
                return keys, contenders - keys
            start = resp.kvs[-1].key + b"\x00"

    # Sessions -----------------------------------------------------------------------------
    async def put_session(self, lease: int, nonce: str, record: state_pb2.SessionRecord,
                          deadline: float) -> None:
        await self.client.call(lambda s: s.kv.Put, pb.PutRequest(
            key=self._session(lease, nonce), value=record.SerializeToString(), lease=lease),
            deadline, "session write")

    async def session_exists(self, lease: int, nonce: str, deadline: float) -> bool:
        resp = await self.client.call(lambda s: s.kv.Range, RNG(
            key=self._session(lease, nonce), count_only=True), deadline, "session read")
        return bool(resp.count)

    # Health -------------------------------------------------------------------------------
    async def ping(self, deadline: float) -> None:
        # An etcd that was down at start-up has its version checked on the first ping it
        # answers; a refused one stops every call here and keeps health NOT_SERVING.
        if self.client.refused is not None:
            raise Unavailable(self.client.refused)
        if not self.version_known:
            try:
                await self.check_version(deadline)
            except versions.EtcdVersionRefused as exc:
                self.client.refused = str(exc)
                log.critical("refusing etcd: %s", exc)
                raise Unavailable(str(exc)) from None
        await self.client.call(lambda s: s.kv.Range, RNG(key=self.p, count_only=True),
                               deadline, "health read")

    async def close(self) -> None:
        await self.batcher.close()
        await self.hub.close()
        await self.keeper.close()
        await self.client.close()


__all__ = ["EtcdStore", "Tls", "prefix_end"]
