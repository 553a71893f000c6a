"""The coordinator's HTTP port (--http-listen): the Connect protocol over JSON and
application/proto, on both backends, called with aiohttp's HTTP client. Errors are Connect
error JSON with the protocol's HTTP status; bad input names the field and crashes nothing.

Third-party clients (buf curl, curl, Connect-ES) are in test_http_clients.py; TLS, metrics
and shutdown in test_http_ops.py.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from etcd_server import EtcdServer
from harness import Coordinator, dur, etcd_config, eventually, memory_config
from http_harness import base_url, call_json, call_proto, pb, post, with_http

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture(params=["memory", "etcd"])
async def hcoord(request: pytest.FixtureRequest, key_prefix: str) -> AsyncIterator[Coordinator]:
    """One coordinator with its HTTP port on, once per backend."""
    if request.param == "memory":
        config = memory_config()
    else:
        server: EtcdServer = request.getfixturevalue("etcd")
        config = etcd_config(server.endpoint, key_prefix)
    c = await Coordinator(with_http(config)).start()
    yield c
    await c.stop()


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def _acquire(key: str, owner: str, **kw: Any) -> dict[str, Any]:
    return {"key": key, "owner": owner, "ttl": "10s", **kw}


# --- the lock cycle, JSON --------------------------------------------------------------------

async def test_acquire_busy_status_release_over_json(
        hcoord: Coordinator, session: aiohttp.ClientSession) -> None:
    url = base_url(hcoord)
    lease = (await call_json(session, url, "Acquire", _acquire("conv_h", "w1")))["lease"]
    assert lease["owner"] == "w1" and lease["ttl"] == "10s"
    assert int(lease["fencingToken"]) > 0  # int64: a JSON string, as proto3 JSON says
    busy = (await call_json(session, url, "Acquire", _acquire("conv_h", "w2")))["busy"]
    assert busy["holder"]["owner"] == "w1"
    assert busy["holder"]["fencingToken"] == lease["fencingToken"]
    assert "busy" in busy["message"]
    (state,) = (await call_json(session, url, "Status", {"key": "conv_h"}))["locks"]
    assert state["holder"]["owner"] == "w1"
    # The gRPC face sees the same lock: one LockManager behind both ports.
    (grpc_state,) = await hcoord.status("conv_h")
    assert grpc_state.holder.fencing_token == int(lease["fencingToken"])
    released = await call_json(session, url, "Release", {"leaseToken": lease["leaseToken"]})
    assert released == {"released": True}
    # Defaults are written out: a second Release says false, not {}.
    again = await call_json(session, url, "Release", {"leaseToken": lease["leaseToken"]})
    assert again == {"released": False}
    assert (await call_json(session, url, "Status", {"key": "conv_h"}))["locks"] == []
    after = (await call_json(session, url, "Acquire", _acquire("conv_h", "w2")))["lease"]
    assert int(after["fencingToken"]) > int(lease["fencingToken"])


async def test_keepalive_and_sessions_over_json(
        hcoord: Coordinator, session: aiohttp.ClientSession) -> None:
    url = base_url(hcoord)
    lease = (await call_json(session, url, "Acquire", _acquire("conv_k", "w1")))["lease"]
    renewed = await call_json(session, url, "KeepAlive", {"leaseToken": lease["leaseToken"],
                                                          "metadata": {"step": "2"}})
    assert renewed["ttl"] == "10s" and renewed["expiresAt"] >= lease["expiresAt"]
    (state,) = (await call_json(session, url, "Status", {"key": "conv_k"}))["locks"]
    assert state["holder"]["metadata"] == {"step": "2"}

    opened = await call_json(session, url, "OpenSession", {"owner": "w9", "ttl": "20s"})
    sid = opened["sessionId"]
    assert sid and opened["ttl"] == "20s"
    held = (await call_json(session, url, "Acquire",
                            {"key": "conv_s", "owner": "w9", "sessionId": sid}))["lease"]
    assert held["sessionId"] == sid
    kept = await call_json(session, url, "KeepAlive", {"sessionId": sid})
    assert kept["ttl"] == "20s"
    # The same validation as gRPC: a session has no metadata of its own.
    refused = await post(session, url, "KeepAlive", {"sessionId": sid, "metadata": {"a": "b"}})
    assert (refused.status, refused.code) == (400, "invalid_argument")
    assert refused.message.startswith("metadata:")
    assert await call_json(session, url, "CloseSession", {"sessionId": sid}) == {"closed": True}
    # Closing the session ended its lock.
    assert (await call_json(session, url, "Status", {"key": "conv_s"}))["locks"] == []


async def test_queued_acquires_are_granted_in_order_over_json(
        hcoord: Coordinator, session: aiohttp.ClientSession) -> None:
    url = base_url(hcoord)
    first = (await call_json(session, url, "Acquire", _acquire("conv_q", "a")))["lease"]
    b = asyncio.create_task(call_json(session, url, "Acquire",
                                      _acquire("conv_q", "b", wait="30s"), timeout_ms=40_000))
    await eventually(lambda: _waiters_are(hcoord, "conv_q", ["b"]))
    c = asyncio.create_task(call_json(session, url, "Acquire",
                                      _acquire("conv_q", "c", wait="30s"), timeout_ms=40_000))
    await eventually(lambda: _waiters_are(hcoord, "conv_q", ["b", "c"]))
    await call_json(session, url, "Release", {"leaseToken": first["leaseToken"]})
    got_b = (await asyncio.wait_for(b, 15))["lease"]
    assert got_b["owner"] == "b" and not c.done()
    await call_json(session, url, "Release", {"leaseToken": got_b["leaseToken"]})
    got_c = (await asyncio.wait_for(c, 15))["lease"]
    assert got_c["owner"] == "c"
    assert int(first["fencingToken"]) < int(got_b["fencingToken"]) < int(got_c["fencingToken"])


async def _waiters_are(c: Coordinator, key: str, owners: list[str]) -> bool:
    return await c.waiters(key) == owners


async def test_proto_field_names_are_accepted_too(
        hcoord: Coordinator, session: aiohttp.ClientSession) -> None:
    url = base_url(hcoord)
    lease = (await call_json(session, url, "Acquire", {"key": "conv_n", "owner": "w1",
                                                       "ttl": "10s", "request_id": "r1"}))
    token = lease["lease"]["leaseToken"]
    assert await call_json(session, url, "Release", {"lease_token": token}) == {"released": True}


# --- application/proto ------------------------------------------------------------------------

async def test_lock_cycle_over_application_proto(
        hcoord: Coordinator, session: aiohttp.ClientSession) -> None:
    url = base_url(hcoord)
    granted = await call_proto(session, url, "Acquire",
                               pb.AcquireRequest(key="conv_p", owner="w1", ttl=dur(10)),
                               pb.AcquireResponse)
    assert granted.WhichOneof("result") == "lease"
    busy = await call_proto(session, url, "Acquire",
                            pb.AcquireRequest(key="conv_p", owner="w2", ttl=dur(10)),
                            pb.AcquireResponse)
    assert busy.busy.holder.fencing_token == granted.lease.fencing_token
    kept = await call_proto(session, url, "KeepAlive",
                            pb.KeepAliveRequest(lease_token=granted.lease.lease_token),
                            pb.KeepAliveResponse)
    assert kept.ttl.seconds == 10
    status = await call_proto(session, url, "Status", pb.StatusRequest(key="conv_p"),
                              pb.StatusResponse)
    assert [s.holder.owner for s in status.locks] == ["w1"]
    released = await call_proto(session, url, "Release",
                                pb.ReleaseRequest(lease_token=granted.lease.lease_token),
                                pb.ReleaseResponse)
    assert released.released
    opened = await call_proto(session, url, "OpenSession",
                              pb.OpenSessionRequest(owner="w3", ttl=dur(15)),
                              pb.OpenSessionResponse)
    closed = await call_proto(session, url, "CloseSession",
                              pb.CloseSessionRequest(session_id=opened.session_id),
                              pb.CloseSessionResponse)
    assert closed.closed
    # A proto call's error is still Connect error JSON.
    bad = await post(session, url, "Acquire", pb.AcquireRequest(key="").SerializeToString(),
                     content_type="application/proto")
    assert (bad.status, bad.code, bad.headers["content-type"]) == (
        400, "invalid_argument", "application/json")


# --- errors: codes and HTTP statuses ----------------------------------------------------------

async def test_lock_errors_have_the_connect_code_and_http_status(
        hcoord: Coordinator, session: aiohttp.ClientSession) -> None:
    url = base_url(hcoord)
    empty = await post(session, url, "Acquire", {"key": "", "owner": "w1", "ttl": "10s"})
    assert (empty.status, empty.code, empty.message) == (400, "invalid_argument",
                                                         "key: must not be empty")
    lease = (await call_json(session, url, "Acquire",
                             _acquire("conv_e", "w1", requestId="req-e")))["lease"]
    await call_json(session, url, "Release", {"leaseToken": lease["leaseToken"]})
    gone = await post(session, url, "KeepAlive", {"leaseToken": lease["leaseToken"]})
    assert (gone.status, gone.code) == (404, "not_found")
    # A retry of a request_id whose lease was released: FAILED_PRECONDITION, as over gRPC.
    retried = await post(session, url, "Acquire", _acquire("conv_e", "w1", requestId="req-e"))
    assert (retried.status, retried.code) == (400, "failed_precondition")
    assert retried.headers["content-type"] == "application/json"


@pytest.mark.parametrize(("method", "path", "headers", "status", "code"), [
    ("POST", "Nope", {}, 404, "unimplemented"),
    ("GET", "Status", {}, 405, "unimplemented"),
    ("POST", "Status", {"Content-Type": "text/plain"}, 415, "unimplemented"),
    ("POST", "Status", {"Content-Encoding": "br"}, 501, "unimplemented"),
    ("POST", "Status", {"Connect-Protocol-Version": "2"}, 400, "invalid_argument"),
    ("POST", "Status", {"Connect-Timeout-Ms": "-5"}, 400, "invalid_argument"),
    ("POST", "Status", {"Connect-Timeout-Ms": "12345678901"}, 400, "invalid_argument"),
])
async def test_protocol_errors(method: str, path: str, headers: dict[str, str], status: int,
                               code: str, hcoord: Coordinator,
                               session: aiohttp.ClientSession) -> None:
    sent = {"Content-Type": "application/json", **headers}
    async with session.request(method, f"{base_url(hcoord)}/threadlock.v1.LockService/{path}",
                               data=b"{}", headers=sent) as resp:
        body = await resp.json(content_type=None)
        assert (resp.status, body["code"]) == (status, code), body
        assert resp.headers["Content-Type"].startswith("application/json")
        if status == 405:
            assert resp.headers["Allow"] == "POST"
    for header in ("connect-protocol-version", "connect-timeout-ms"):
        if header in {h.lower() for h in headers}:
            assert body["message"].startswith(header + ":")


@pytest.mark.parametrize(("body", "field"), [
    (b'{"key": "k", "bogus": 1}', "bogus"),  # unknown field
    (b'{"key": 5}', "key"),  # wrong type
    (b'{"key": "k", "ttl": "abc"}', "ttl"),
    (b'{"key": "k", "ttl": 10}', "ttl"),  # a Duration is a string in proto3 JSON
    (b'{"key": "k", "ttl": {"seconds": 1}}', "ttl"),
    (b'{"key": "k", "metadata": {"a": 1}}', "metadata"),
    (b'{"key": "k", "metadata": []}', "metadata"),
    (b'{"key": "k", "wait": true}', "wait"),
    (b'{nope', "body"),  # not JSON
    (b'[]', "body"),  # not an object
    (b'"key"', "body"),
    (b'null', "body"),
    (b'\xff\xfe', "body"),  # not UTF-8
])
async def test_bad_json_is_invalid_argument_naming_the_field(
        body: bytes, field: str, hcoord: Coordinator,
        session: aiohttp.ClientSession) -> None:
    url = base_url(hcoord)
    answer = await post(session, url, "Acquire", body)
    assert (answer.status, answer.code) == (400, "invalid_argument"), answer.raw
    assert answer.message.startswith(f"{field}:"), answer.message
    assert "Traceback" not in answer.message
    # Nothing broke: the next call is served.
    await call_json(session, url, "Status", {"prefix": "conv_"})


async def test_bad_protobuf_body_is_invalid_argument(
        hcoord: Coordinator, session: aiohttp.ClientSession) -> None:
    answer = await post(session, base_url(hcoord), "Acquire", b"\xff\xff\xff",
                        content_type="application/proto")
    assert (answer.status, answer.code) == (400, "invalid_argument")
    assert answer.message.startswith("body:")


async def test_gzip_request_and_answer(hcoord: Coordinator,
                                       session: aiohttp.ClientSession) -> None:
    url = base_url(hcoord)
    big = {f"m{i}": "x" * 120 for i in range(12)}  # an answer over the 1 KiB gzip threshold
    body = gzip.compress(b'{"key": "conv_z", "owner": "w1", "ttl": "10s", "metadata": '
                         + str(big).replace("'", '"').encode() + b"}")
    answer = await post(session, url, "Acquire", body,
                        headers={"Content-Encoding": "gzip", "Accept-Encoding": "gzip"})
    assert answer.status == 200, answer.raw
    assert answer.headers["content-encoding"] == "gzip"  # aiohttp inflated it for us
    assert answer.json["lease"]["metadata"] == big
    small = await post(session, url, "Status", {"key": "conv_nothing"},
                       headers={"Accept-Encoding": "gzip"})
    assert small.status == 200 and "content-encoding" not in small.headers  # under 1 KiB
    broken = await post(session, url, "Acquire", b"not gzip",
                        headers={"Content-Encoding": "gzip"})
    assert (broken.status, broken.code) == (400, "invalid_argument")
    assert broken.message.startswith("content-encoding:")


async def test_body_over_one_mib_is_resource_exhausted(
        hcoord: Coordinator, session: aiohttp.ClientSession) -> None:
    url = base_url(hcoord)
    huge = b'{"key": "' + b"k" * (1 << 20) + b'"}'
    answer = await post(session, url, "Acquire", huge)
    assert (answer.status, answer.code) == (429, "resource_exhausted")
    bomb = gzip.compress(huge)  # small on the wire, over the limit once inflated
    assert len(bomb) < 1 << 20
    answer = await post(session, url, "Acquire", bomb, headers={"Content-Encoding": "gzip"})
    assert (answer.status, answer.code) == (429, "resource_exhausted")


# --- deadlines and disconnects ---------------------------------------------------------------

async def test_connect_timeout_answers_busy_before_the_deadline(
        hcoord: Coordinator, session: aiohttp.ClientSession) -> None:
    url = base_url(hcoord)
    await call_json(session, url, "Acquire", _acquire("conv_t", "w1", ttl="30s"))
    start = time.monotonic()
    busy = await call_json(session, url, "Acquire", _acquire("conv_t", "w2", wait="60s"),
                           timeout_ms=2000)
    elapsed = time.monotonic() - start
    assert busy["busy"]["holder"]["owner"] == "w1"
    assert elapsed < 2.0  # answered before the caller's deadline, not cut off by it
    assert elapsed > 0.5  # it did wait (60 s asked, 2 s allowed)
    assert await hcoord.waiters("conv_t") == []  # and left the queue


async def test_disconnected_acquire_leaves_the_queue(hcoord: Coordinator) -> None:
    url = base_url(hcoord)
    holder = await hcoord.lease("conv_d", "w1", ttl=30)
    async with aiohttp.ClientSession() as mine:
        queued = asyncio.create_task(post(mine, url, "Acquire",
                                          _acquire("conv_d", "w2", wait="60s")))
        await eventually(lambda: _waiters_are(hcoord, "conv_d", ["w2"]))
        queued.cancel()  # the client gives up; closing the session drops the connection
    await eventually(lambda: _waiters_are(hcoord, "conv_d", []))
    assert await hcoord.release(holder.lease_token)
    # No phantom waiter: a newcomer is granted at once.
    assert (await hcoord.acquire("conv_d", "w3")).WhichOneof("result") == "lease"


async def test_etcd_down_answers_unavailable_in_time(fresh_etcd: EtcdServer, key_prefix: str,
                                                    session: aiohttp.ClientSession) -> None:
    config = with_http(etcd_config(fresh_etcd.endpoint, key_prefix))
    c = await Coordinator(config).start()
    try:
        url = base_url(c)
        held = (await call_json(session, url, "Acquire", _acquire("conv_o", "w1")))["lease"]
        fresh_etcd.stop()
        for method, body in (("Acquire", _acquire("conv_o2", "w2")),
                             ("Acquire", _acquire("conv_o", "w2", wait="10s")),
                             ("KeepAlive", {"leaseToken": held["leaseToken"]}),
                             ("Status", {"prefix": ""}),
                             ("Release", {"leaseToken": held["leaseToken"]})):
            start = time.monotonic()
            answer = await post(session, url, method, body, timeout_ms=3000)
            assert (answer.status, answer.code) in ((503, "unavailable"),
                                                    (504, "deadline_exceeded")), answer.raw
            assert time.monotonic() - start < 4.0  # the deadline (3 s), never a hang
        # Without Connect-Timeout-Ms the store's own timeout still ends the call.
        start = time.monotonic()
        answer = await post(session, url, "Status", {"prefix": ""})
        assert (answer.status, answer.code) == (503, "unavailable"), answer.raw
        assert time.monotonic() - start < config.etcd_timeout + 5
    finally:
        await c.stop()
