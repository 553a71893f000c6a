"""A randomized fuzzer of the coordinator's write paths on a real etcd (group commit included):
many contenders on few keys through two replicas, own-lease and session locks, random client
deadlines that cut calls off anywhere (retried with the same request_id on the other
replica), and etcd made unavailable at random (a TCP relay between the replicas and etcd that
drops every connection and refuses new ones for a while). It checks:

- 0 double grants: a holder uses its grant from the moment it sees it until it sends its
  Release or the grant's expires_at passes (on the holder's own monotonic clock, as any client
  must); nobody else of that key may use one meanwhile. A grant that arrives with no time left
  (a session not renewed in time) is counted, never used;
- fencing order: per key, every usable grant's token is greater than every earlier one's;
- 0 orphans: once every worker released (or gave up), and the locks' TTL passed, no contender
  key is left and no lease of a lock, waiter slot or session (TTL <= LOCK_TTL) is left.

The test runs a bounded round (about 25 s). The long run is a command:

    .venv/bin/python tests/test_fuzz_write_paths.py --ops 100000 [--seed N] [--workers 24]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest
from etcd_server import EtcdServer
from fuzz_etcd import Relay, orphans_in
from fuzz_transport import CUTS, Failed, StreamConn, StreamTally, unary
from google.protobuf.message import Message
from harness import Coordinator, dur, etcd_config

from threadlock.v1 import lock_pb2 as pb

LOCK_TTL = 6  # locks, sessions; waiter slots live 10 s (acquire.WAITER_TTL)
RETRYABLE = {grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE,
             grpc.StatusCode.ABORTED, grpc.StatusCode.CANCELLED}


@dataclass
class _Hold:
    token: int
    seen: float  # time.monotonic() when the holder got the grant
    until: float  # its expires_at on the holder's monotonic clock
    left: float  # seconds of it left when seen
    released: float = float("inf")  # when the holder sent its Release (stopped using it)

    def used_at(self, t: float) -> bool:
        return t < min(self.until, self.released)


@dataclass
class Checker:
    """Holds as the holders use them: from the moment the worker sees the grant until it
    sends its Release or its expires_at passes, whichever comes first; expires_at is turned
    into the holder's own monotonic clock when the grant arrives (as a client must). Every
    grant with any time left is checked (no margin); one with none is counted, never used.

    - double grant: a usable grant of key K while another holder of K still uses its grant;
    - fencing order: a usable grant of K whose token is not above every earlier usable grant
      of K (whether or not that one is still in use);
    A grant that arrives after its own expires_at is legitimately stale (its lease ended while
    the answer travelled): checking it would only report the client's own discard."""

    holds: dict[str, list[_Hold]] = field(default_factory=dict)
    last: dict[str, _Hold] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    grants: int = 0
    # Grants that arrived already expired with a token below the key's latest usable one: what
    # a checker that ignores expires_at would report as a violation (kept as evidence).
    stale_lower: list[str] = field(default_factory=list)

    def expired(self, key: str, token: int, left: float, kind: str) -> None:
        """A grant that arrived with no time left: never used, only looked at."""
        before = self.last.get(key)
        if before is not None and token <= before.token:
            now = time.monotonic()
            self.stale_lower.append(
                f"{kind} grant {key} token {token} arrived {-left:.3f} s after its expires_at; "
                f"token {before.token} was seen {now - before.seen:.3f} s earlier")

    def enter(self, key: str, token: int, left: float) -> _Hold:
        now = time.monotonic()
        me = _Hold(token, now, now + left, left)
        live = [h for h in self.holds.get(key, []) if h.used_at(now)]
        for h in live:
            self.violations.append(
                f"double grant: {key} token {token} ({left:.3f} s left) while token "
                f"{h.token} is in use (seen {now - h.seen:.3f} s ago with {h.left:.3f} s "
                f"left, {h.until - now:.3f} s left now)")
        before = self.last.get(key)
        if before is not None and token <= before.token:
            self.violations.append(
                f"fencing order: {key} token {token} ({left:.3f} s left) after token "
                f"{before.token} (seen {now - before.seen:.3f} s ago with {before.left:.3f} "
                f"s left, released {now - before.released:.3f} s ago)")
        if before is None or token > before.token:
            self.last[key] = me
        self.holds[key] = [*live, me]
        self.grants += 1
        return me

    @staticmethod
    def leave(hold: _Hold) -> None:
        hold.released = time.monotonic()


@dataclass
class Stats:
    expired: int = 0  # grants whose own expires_at had (nearly) passed on arrival
    ops: int = 0
    cut_off: int = 0
    busy: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    # "<transport> <what>" -> count, e.g. "stream acquire", "unary grant", "stream cut off"
    by: dict[str, int] = field(default_factory=dict)
    tally: StreamTally = field(default_factory=StreamTally)
    pool_reused: int = 0  # own-lease grants on a recycled lease (etcd/leases.py)
    pool_unrenewed: int = 0  # of which handed out without a renewal (renewed < ttl/10 ago)

    def count(self, tx: str, what: str) -> None:
        self.by[f"{tx} {what}"] = self.by.get(f"{tx} {what}", 0) + 1


class Link:
    """One worker's way to the replicas: each call goes, as `transport` says ("unary",
    "stream" or "mixed": at random), as a unary call or as a frame on the worker's stream to
    that replica; a stream call past its deadline is cut off at random by a StreamCancel
    frame, by abandoning its answer, or by tearing the stream down."""

    def __init__(self, reps: list[Coordinator], rng: random.Random, transport: str,
                 stats: Stats) -> None:
        self.reps, self.rng, self.transport, self.stats = reps, rng, transport, stats
        self.streams = [StreamConn(r.stub, stats.tally) for r in reps]
        self.last = ""  # the transport of the latest call

    async def call(self, rep: int, which: str, request: Message, timeout: float) -> Any:
        tx = self.transport if self.transport != "mixed" else self.rng.choice(
            ["unary", "stream"])
        self.stats.count(tx, which)
        self.last = tx
        if tx == "unary":
            return await unary(self.reps[rep].stub, which, request, timeout)
        # The frame's own deadline: none, the client's, or later than the client's.
        frame_timeout = self.rng.choice([None, timeout, timeout * 3])
        return await self.streams[rep].request(which, request, timeout, frame_timeout,
                                               self.rng.choice(CUTS))

    async def close(self) -> None:
        for s in self.streams:
            await s.close()


async def _call(link: Link, rep: int, rng: random.Random, key: str, owner: str, rid: str,
                session: str, stats: Stats) -> pb.Lease | None:
    """Acquire with a random deadline; cut off: retry (same request_id) on the other replica."""
    short = rng.random() < 0.3
    timeout = rng.uniform(0.005, 0.3) if short else 8.0
    req = pb.AcquireRequest(key=key, owner=owner, wait=dur(rng.choice([0.0, 0.5, 3.0])),
                            request_id=rid, session_id=session)
    if not session:
        req.ttl.CopyFrom(dur(LOCK_TTL))
    try:
        resp = await link.call(rep, "acquire", req, timeout)
    except Failed as exc:
        if exc.code not in RETRYABLE and exc.code != grpc.StatusCode.NOT_FOUND:
            stats.errors[exc.code.name] = stats.errors.get(exc.code.name, 0) + 1
        stats.cut_off += 1
        stats.count(link.last, "cut off")
        return None
    if resp.WhichOneof("result") == "lease":
        stats.count(link.last, "grant")
        return resp.lease  # type: ignore[no-any-return]
    stats.busy += 1
    return None


async def fuzz(ops: int, workers: int, keys: int, seed: int, base: Path,
               log: bool = False,
               transport: str = "mixed") -> tuple[Checker, Stats, list[str], int]:
    """Run until `ops` acquire calls are made; the checker, stats, orphans, relay cuts."""
    rng = random.Random(seed)
    etcd = EtcdServer(base / "etcd")
    etcd.start()
    relay = Relay(etcd.endpoint)
    endpoint = await relay.start()
    prefix = f"/tl-fuzz/{uuid.uuid4().hex[:8]}/"
    reps = [await Coordinator(etcd_config(endpoint, prefix)).start() for _ in range(2)]
    checker, stats = Checker(), Stats()
    done = asyncio.Event()
    try:
        async def worker(n: int) -> None:
            wr = random.Random(rng.random())
            link = Link(reps, wr, transport, stats)
            session = ""
            while stats.ops < ops:
                stats.ops += 1
                rep = wr.randrange(2)
                if wr.random() < 0.4 and not session:
                    with contextlib.suppress(Failed):
                        session = (await link.call(rep, "open_session", pb.OpenSessionRequest(
                            owner=f"w{n}", ttl=dur(LOCK_TTL)), 5)).session_id
                key = f"k{wr.randrange(keys)}"
                rid = uuid.uuid4().hex
                lease = None
                for attempt in range(3):  # the first may be cut off: retry elsewhere
                    lease = await _call(link, (n + attempt) % 2, wr, key, f"w{n}", rid,
                                        session, stats)
                    if lease is not None or stats.ops >= ops:
                        break
                left = (lease.expires_at.ToNanoseconds() / 1e9 - time.time()
                        if lease is not None else 0.0)
                if lease is not None and left <= 0:
                    stats.expired += 1  # a grant that ended already: a client must not use it
                    checker.expired(key, lease.fencing_token, left,
                                    "session" if session else "own-lease")
                elif lease is not None:
                    hold = checker.enter(key, lease.fencing_token, left)
                    await asyncio.sleep(wr.choice([0, 0, 0.002, 0.01]))
                    checker.leave(hold)
                    with contextlib.suppress(Failed):
                        await link.call(wr.randrange(2), "release", pb.ReleaseRequest(
                            lease_token=lease.lease_token), 10)
                if session and wr.random() < 0.3:  # renew, or end it (freeing its locks)
                    with contextlib.suppress(Failed):
                        if wr.random() < 0.5:
                            await link.call(rep, "keep_alive", pb.KeepAliveRequest(
                                session_id=session), 5)
                        else:
                            await link.call(rep, "close_session", pb.CloseSessionRequest(
                                session_id=session), 5)
                            session = ""
            if session:
                with contextlib.suppress(Failed):
                    await link.call(0, "close_session", pb.CloseSessionRequest(
                        session_id=session), 5)
            await link.close()

        async def faults() -> None:
            while not done.is_set():
                await asyncio.sleep(rng.uniform(1.5, 4.0))
                if not done.is_set():
                    await relay.cut(rng.uniform(0.1, 0.7))

        async def progress() -> None:
            while not done.is_set():
                await asyncio.sleep(10)
                print(f"fuzz: {stats.ops} ops, {checker.grants} grants, {stats.expired} expired "
                      f"on arrival, {relay.cuts} cuts, {len(checker.violations)} violations",
                      file=sys.stderr, flush=True)

        bg = [asyncio.create_task(faults())] + ([asyncio.create_task(progress())] if log else [])
        await asyncio.gather(*(worker(n) for n in range(workers)))
        done.set()
        for t in bg:
            t.cancel()
        await asyncio.gather(*bg, return_exceptions=True)
        orphans = await orphans_in(etcd.endpoint, prefix)
        for r in reps:  # how often grants took a recycled lease, and one not renewed again
            pool = getattr(r.server.store, "pool", None)
            if pool is not None:
                stats.pool_reused += pool.reused
                stats.pool_unrenewed += pool.unrenewed
    finally:
        for r in reps:
            await r.stop()
        await relay.close()
        etcd.kill()
    return checker, stats, orphans, relay.cuts


def test_checker_catches_overlap_and_fencing_order() -> None:
    """The checker can fail: each violation kind, and the legitimate cases it must pass."""
    c = Checker()
    a = c.enter("k", 10, 5.0)
    c.enter("k", 11, 5.0)  # a is still in use: double grant
    assert len(c.violations) == 1 and c.violations[0].startswith("double grant")
    Checker.leave(a)
    c = Checker()
    Checker.leave(c.enter("k", 10, 5.0))
    c.enter("k", 9, 5.0)  # released, but a lower token after it: fencing order
    assert len(c.violations) == 1 and c.violations[0].startswith("fencing order")
    c = Checker()
    c.enter("k", 10, 0.001)  # its expires_at passes while its holder still holds it:
    time.sleep(0.01)
    Checker.leave(c.enter("k", 11, 5.0))  # no longer in use, so no double grant
    Checker.leave(c.enter("j", 3, 5.0))  # tokens are per key
    c.expired("k", 9, -0.2, "session")  # arrived expired, older: evidence, not a violation
    c.expired("k", 12, -0.2, "session")  # arrived expired, newer: nothing to note
    assert c.violations == [] and len(c.stale_lower) == 1


def test_stream_checks_catch_bad_answers() -> None:
    """The stream checks can fail: an answer to a call not in flight (unknown, or twice), and
    one of the wrong kind; a late answer to a cut-off call is counted, not a violation."""
    tally = StreamTally()
    conn = StreamConn(None, tally)  # type: ignore[arg-type]  # answer() needs no stream
    conn.sent = {1: "acquire", 2: "release", 3: "acquire"}
    conn.given_up = {3}
    conn.answer(pb.StreamResponse(call_id=1, acquire=pb.AcquireResponse()))
    conn.answer(pb.StreamResponse(call_id=1, acquire=pb.AcquireResponse()))  # twice
    conn.answer(pb.StreamResponse(call_id=9, error=pb.StreamError(code=1)))  # never sent
    conn.answer(pb.StreamResponse(call_id=2, acquire=pb.AcquireResponse()))  # wrong kind
    conn.answer(pb.StreamResponse(call_id=3, acquire=pb.AcquireResponse(
        lease=pb.Lease(fencing_token=5))))  # late grant of a cut-off call
    assert len(tally.violations) == 3, tally.violations
    assert "answered twice" in tally.violations[0] and "call_id 9" in tally.violations[1]
    assert "answered with acquire" in tally.violations[2]
    assert tally.late_answers == 1 and tally.late_grants == 1 and conn.sent == {}


@pytest.mark.asyncio
async def test_fuzz_write_paths(tmp_path: Path) -> None:
    checker, stats, orphans, cuts = await fuzz(ops=1500, workers=16, keys=3, seed=20261206,
                                               base=tmp_path)
    assert checker.violations == []
    assert stats.tally.violations == []
    assert orphans == []
    assert not stats.errors, stats.errors
    assert checker.grants > 100  # the run did contend and grant
    assert cuts >= 1 and stats.cut_off > 0  # and it did cut calls off
    assert stats.pool_unrenewed > 0, stats  # grants on lately renewed recycled leases ran
    # Both transports carried every kind of write, and granted, and were cut off; the stream
    # cut calls off in each of its three ways and answered some call after a cut.
    for tx in ("unary", "stream"):
        for what in ("acquire", "release", "grant", "cut off", "open_session",
                     "keep_alive", "close_session"):
            assert stats.by.get(f"{tx} {what}", 0) > 0, (tx, what, stats.by)
    t = stats.tally
    assert t.cancels > 0 and t.abandons > 0 and t.teardowns > 0, t
    assert t.late_answers > 0 and t.opened > 2 * 16, t  # streams were reopened after teardowns
    assert t.ended > 0, t  # and the end-of-stream check ran on streams the workers ended


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ops", type=int, default=100_000)
    p.add_argument("--workers", type=int, default=24)
    p.add_argument("--keys", type=int, default=4)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--transport", choices=["unary", "stream", "mixed"], default="mixed")
    args = p.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        checker, stats, orphans, cuts = asyncio.run(
            fuzz(args.ops, args.workers, args.keys, args.seed, Path(tmp), log=True,
                 transport=args.transport))
    t = stats.tally
    print(f"ops {stats.ops}, grants {checker.grants}, expired on arrival {stats.expired}, "
          f"busy {stats.busy}, cut off "
          f"{stats.cut_off}, relay cuts {cuts}, errors {stats.errors}, "
          f"violations {len(checker.violations)}, stream violations {len(t.violations)}, "
          f"orphans {len(orphans)}, expired with a "
          f"lower token (a checker ignoring expires_at would count them) "
          f"{len(checker.stale_lower)}, recycled leases {stats.pool_reused} "
          f"(unrenewed {stats.pool_unrenewed}), "
          f"{time.monotonic() - started:.0f} s")
    print("per transport:", ", ".join(f"{k} {v}" for k, v in sorted(stats.by.items())))
    print(f"streams: opened {t.opened}, ended cleanly {t.ended}, broken {t.broken}, "
          f"cancel frames {t.cancels}, "
          f"abandoned {t.abandons}, torn down {t.teardowns}, late answers {t.late_answers} "
          f"(CANCELLED {t.late_cancelled}, grants {t.late_grants})")
    for v in (checker.violations[:20] + t.violations[:20] + orphans[:20]
              + checker.stale_lower[:10]):
        print(" ", v)
    sys.exit(1 if checker.violations or t.violations or orphans or stats.errors else 0)


if __name__ == "__main__":
    main()
