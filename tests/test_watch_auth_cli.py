"""Watch with auth on (both backends): each tenant sees only its own keys, without the tenant
prefix; viewers may watch; an admin watches across tenants with keys as stored; no credential
is UNAUTHENTICATED. And the CLI: `threadlock watch --json` prints one JSON event per line."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
from authkit import As, new_api_key, write_auth
from harness import Coordinator, etcd_config, memory_config, rpc_error
from watch_helpers import K, Watcher

from threadlock.cli_watch import Table
from threadlock.v1 import lock_pb2 as pb

ROLES = {"a": ("tenant-a", "locker"), "b": ("tenant-b", "locker"),
         "view_a": ("tenant-a", "viewer"), "admin": ("ops", "admin")}


@pytest_asyncio.fixture(params=["memory", "etcd"])
async def tenants(request: pytest.FixtureRequest, tmp_path: Path,
                  key_prefix: str) -> AsyncIterator[tuple[Coordinator, dict[str, As]]]:
    keys = {name: new_api_key() for name in ROLES}
    path = write_auth(tmp_path / "auth.yaml", {
        "api_keys": [{"sha256": sha, "tenant": ROLES[name][0], "role": ROLES[name][1]}
                     for name, (_, sha) in keys.items()],
        "session_secret": "w" * 32})
    config = memory_config()
    if request.param == "etcd":
        config = etcd_config(request.getfixturevalue("etcd").endpoint, key_prefix)
    c = await Coordinator(dataclasses.replace(config, auth_file=str(path))).start()
    yield c, {name: As(c, key) for name, (key, _) in keys.items()}
    await c.stop()


async def test_tenants_see_only_their_own_keys(
        tenants: tuple[Coordinator, dict[str, As]]) -> None:
    c, who = tenants
    key = f"conv_{uuid.uuid4().hex[:6]}"
    watchers = {name: Watcher(c.stub, pb.WatchRequest(prefix="conv_" if name != "admin"
                                                      else ""),
                              tuple(who[name].metadata)).start()
                for name in ("a", "b", "view_a", "admin")}
    for w in watchers.values():
        await w.snapshot_done()
    lease_a = await who["a"].lease(key)
    await who["b"].lease(key)  # the same name in another tenant: another lock
    await who["a"].release(lease_a.lease_token)
    await watchers["admin"].wait_for(lambda w: len(w.changes()) == 3)
    await watchers["a"].wait_for(lambda w: len(w.changes()) == 2)
    await watchers["b"].wait_for(lambda w: len(w.changes()) == 1)
    for w in watchers.values():
        await w.stop()
    for name in ("a", "view_a"):
        assert [(e.kind, e.key) for e in watchers[name].changes()] == [
            (K.KIND_GRANTED, key), (K.KIND_RELEASED, key)]
    assert [(e.kind, e.key) for e in watchers["b"].changes()] == [(K.KIND_GRANTED, key)]
    assert [(e.kind, e.key) for e in watchers["admin"].changes()] == [
        (K.KIND_GRANTED, f"tenant-a/{key}"), (K.KIND_GRANTED, f"tenant-b/{key}"),
        (K.KIND_RELEASED, f"tenant-a/{key}")]


async def test_watch_without_a_credential_is_unauthenticated(
        tenants: tuple[Coordinator, dict[str, As]]) -> None:
    c, _ = tenants

    async def first() -> pb.WatchEvent:
        async for resp in c.stub.Watch(pb.WatchRequest(prefix=""), timeout=10):
            event: pb.WatchEvent = resp.events[0]
            return event
        raise AssertionError("no event")

    err = await rpc_error(first())
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED


def _cli(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLOCK_")}
    return subprocess.Popen([sys.executable, "-m", "threadlock", "watch", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


async def test_cli_prints_json_lines(coord: Coordinator) -> None:
    prefix = f"cli_{uuid.uuid4().hex[:6]}_"
    held = await coord.lease(prefix + "a", "ops", ttl=10)
    proc = _cli("--prefix", prefix, "--json", "--count", "2", "--address", coord.address)
    try:
        assert proc.stdout is not None
        lines = [json.loads(await _readline(proc)) for _ in range(2)]  # snapshot + its end
        assert [(d["kind"], d["key"], d["snapshot"]) for d in lines] == [
            ("granted", prefix + "a", True), ("snapshot_end", "", False)]
        assert lines[0]["owner"] == "ops" and lines[0]["fencing_token"] == held.fencing_token
        await coord.release(held.lease_token)
        await coord.lease(prefix + "b", "ops2", ttl=10)
        rest = [json.loads(await _readline(proc)) for _ in range(2)]
        assert [(d["kind"], d["key"]) for d in rest] == [
            ("released", prefix + "a"), ("granted", prefix + "b")]
        assert all(d["cursor"] for d in rest)
        assert await _wait(proc) == 0  # --count 2: it stops after two changes
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_refuses_key_and_prefix_together() -> None:
    out = subprocess.run([sys.executable, "-m", "threadlock", "watch", "k", "--prefix", "p"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2 and "KEY or --prefix" in out.stderr


async def _readline(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
    assert line, proc.stderr.read() if proc.stderr else "no output"
    return line


async def _wait(proc: subprocess.Popen[str]) -> int:
    return await asyncio.wait_for(asyncio.to_thread(proc.wait), 30)


def test_cli_live_table_rebuilds_holders_and_waiters_in_order() -> None:
    """The table the CLI redraws on a terminal, from events: holder, token, waiters in queue
    order; a CURSOR_TOO_OLD snapshot replaces what it showed."""
    ts = pb.WatchEvent().time.__class__
    now = float(int(time.time()))

    def ev(kind: pb.WatchEvent.Kind, key: str, owner: str, token: int,
           snapshot: bool = False) -> pb.WatchEvent:
        e = pb.WatchEvent(kind=kind, key=key, owner=owner, fencing_token=token,
                          snapshot=snapshot)
        e.acquired_at.CopyFrom(ts(seconds=int(now) - 65))
        return e

    table = Table()
    for e in (ev(K.KIND_GRANTED, "conv_1", "alice", 7, True),
              ev(K.KIND_QUEUED, "conv_1", "bob", 9, True),
              pb.WatchEvent(kind=K.KIND_SNAPSHOT_END),
              ev(K.KIND_QUEUED, "conv_1", "carol", 12),
              ev(K.KIND_GRANTED, "conv_2", "dave", 11)):
        table.apply(e)
    table.expires = {"conv_1": now + 20}
    lines = table.render(now).splitlines()
    assert lines[1].split() == ["conv_1", "alice", "7", "1m05s", "20s", "bob,", "carol"]
    assert lines[2].split()[:3] == ["conv_2", "dave", "11"] and "?" in lines[2]
    for e in (ev(K.KIND_RELEASED, "conv_1", "alice", 7), ev(K.KIND_GRANTED, "conv_1", "bob", 9)):
        table.apply(e)
    assert table.render(now).splitlines()[1].split()[:3] == ["conv_1", "bob", "9"]
    for e in (pb.WatchEvent(kind=K.KIND_CURSOR_TOO_OLD),
              ev(K.KIND_GRANTED, "conv_3", "eve", 20, True),
              pb.WatchEvent(kind=K.KIND_SNAPSHOT_END)):
        table.apply(e)
    assert list(table.locks) == ["conv_3"]
