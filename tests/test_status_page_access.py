"""Who gets the status page: off by default (no page on the metrics port, no port at all by
default), the option's parsing and checks, the port's other routes with the page on, and auth:
a credential is needed for the data (the browser sends it as a Bearer header), a tenant sees
only its own keys (in the JSON, the event stream and the DOM), admin sees every tenant's."""

from __future__ import annotations

import argparse
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from authkit import new_api_key, write_auth
from etcd_server import EtcdServer
from harness import Coordinator, memory_config
from playwright.async_api import Browser, async_playwright
from status_browser import (
    holder,
    http_get,
    launch_options,
    locks_json,
    open_page,
    page_config,
    page_url,
    shown_keys,
    wait_row,
)

from threadlock import config as config_mod
from threadlock import status_page
from threadlock_client.aio import AsyncLockClient


def parse(argv: list[str], env: dict[str, str] | None = None) -> config_mod.Config:
    parser = argparse.ArgumentParser()
    config_mod.add_arguments(parser)
    return config_mod.from_args(parser.parse_args(argv), env or {})


# --- the option ---------------------------------------------------------------------------


def test_the_page_is_off_by_default() -> None:
    assert config_mod.Config().status_page is False
    assert parse([]).status_page is False
    assert parse(["--metrics-listen", "127.0.0.1:0"]).status_page is False


@pytest.mark.parametrize(("argv", "env", "want"), [
    (["--status-page"], {}, True),  # the bare flag
    (["--status-page", "true"], {}, True),
    (["--status-page=false"], {"THREADLOCK_STATUS_PAGE": "true"}, False),  # flag > env
    ([], {"THREADLOCK_STATUS_PAGE": "true"}, True),
    ([], {"THREADLOCK_STATUS_PAGE": "0"}, False),
])
def test_the_option_from_flag_and_environment(argv: list[str], env: dict[str, str],
                                              want: bool) -> None:
    assert parse(["--metrics-listen", "127.0.0.1:9090", *argv], env).status_page is want


METRICS = ["--metrics-listen", "127.0.0.1:9090"]


@pytest.mark.parametrize(("argv", "env", "message"), [
    ([*METRICS, "--status-page", "maybe"], {},
     r"--status-page: must be on or off \(true/false, 1/0, yes/no\), got 'maybe'"),
    (METRICS, {"THREADLOCK_STATUS_PAGE": "yes please"},
     r"--status-page \(from THREADLOCK_STATUS_PAGE\): must be on or off"),
    (["--status-page"], {},
     r"--status-page: the page is served on the metrics port; set --metrics-listen too"),
])
def test_bad_values_name_the_option(argv: list[str], env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(argv, env)


def test_with_auth_the_page_needs_a_loopback_metrics_address(tmp_path: Path) -> None:
    auth = write_auth(tmp_path / "auth.yaml", {"api_keys": [
        {"sha256": new_api_key()[1], "tenant": "team-a", "role": "viewer"}]})
    with pytest.raises(ValueError, match=r"--status-page: with --auth-file the page needs a "
                                         r"loopback --metrics-listen .*got '0\.0\.0\.0:9090'"):
        parse(["--status-page", "--auth-file", str(auth), "--metrics-listen", "0.0.0.0:9090"])
    for host in ("127.0.0.1", "[::1]", "localhost"):
        assert parse(["--status-page", "--auth-file", str(auth),
                      "--metrics-listen", f"{host}:9090"]).status_page
    # Without the page, any metrics address stays fine with auth.
    assert not parse(["--auth-file", str(auth), "--metrics-listen", "0.0.0.0:9090"]).status_page


# --- the port ------------------------------------------------------------------------------


async def test_without_the_option_the_metrics_port_serves_no_page(
        coordinators: list[Coordinator]) -> None:
    plain = await Coordinator(memory_config()).start()
    coordinators.append(plain)
    assert plain.server.metrics_port == 0  # no metrics, no HTTP port at all
    metrics_only = await Coordinator(dataclasses.replace(
        memory_config(), metrics_listen="127.0.0.1:0")).start()
    coordinators.append(metrics_only)
    for path in ("/status", "/status/events", "/status/locks", "/status/assets/status.js"):
        _, headers, body = await http_get(page_url(metrics_only, path))
        # prometheus_client's own server answers every path with the metrics text.
        assert headers.get("Content-Type", "").startswith("text/plain"), (path, headers)
        assert b"<html" not in body and b"event:" not in body
        assert b"threadlock_acquire_total" in body


async def test_with_the_page_the_port_still_serves_metrics(
        coordinators: list[Coordinator]) -> None:
    c = await Coordinator(page_config("memory")).start()
    coordinators.append(c)
    await c.lease(f"m-{uuid.uuid4().hex[:6]}", "w")
    status, headers, body = await http_get(page_url(c, "/metrics"))
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert b'threadlock_acquire_total{outcome="granted"} 1.0' in body
    status, headers, _ = await http_get(page_url(c, "/"))
    assert status == 302 and headers["Location"] == "/status"
    status, headers, body = await http_get(page_url(c, "/status"))
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in headers["Content-Security-Policy"]  # nothing from elsewhere
    assert b"/status/assets/status.js" in body and b"http" not in body.split(b"<body>")[0]
    for name in ("status.js", "status.css"):
        assert (await http_get(page_url(c, f"/status/assets/{name}")))[0] == 200
    assert (await http_get(page_url(c, "/status/assets/../config.py")))[0] == 404
    assert (await http_get(page_url(c, "/status/assets/nope.js")))[0] == 404
    status, _, body = await http_get(page_url(c, "/status/locks?prefix=" + "x" * 600))
    assert status == 400 and b"prefix" in body


async def test_the_event_stream_as_a_plain_http_client_reads_it(
        coordinators: list[Coordinator], monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented wire format: a snapshot, one `lock` event per change (`"lock": null`
    once released), keep-alive comments on a quiet stream."""
    monkeypatch.setattr(status_page, "KEEPALIVE", 0.3)
    c = await Coordinator(page_config("memory")).start()
    coordinators.append(c)
    key = f"wire-{uuid.uuid4().hex[:6]}"
    held = await c.lease(key, "w1")
    async with aiohttp.ClientSession() as session, session.get(
            page_url(c, f"/status/events?prefix={key}")) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/event-stream"
        frames = _frames(resp.content)
        name, data = await anext(frames)
        assert name == "snapshot" and [lock["key"] for lock in data["locks"]] == [key]
        assert data["locks"][0]["lock"]["owner"] == "w1" and data["now"] > 0
        assert await anext(frames) == (":", None)  # quiet: a keep-alive comment
        await c.release(held.lease_token)
        while (frame := await anext(frames))[0] == ":":
            pass
        name, data = frame
        assert name == "lock" and data["key"] == key and data["lock"] is None
        assert len(data["history"]["holds"]) == 1 and len(data["history"]["waits"]) == 1


async def _frames(stream: aiohttp.StreamReader) -> AsyncIterator[tuple[str, Any]]:
    """(event name, parsed data) per SSE frame; (":", None) for a comment."""
    lines: list[str] = []
    async for raw in stream:
        line = raw.decode().rstrip("\n")
        if line:
            lines.append(line)
            continue
        if lines and all(x.startswith(":") for x in lines):
            yield ":", None
        elif lines:
            fields = dict(x.split(": ", 1) for x in lines)
            yield fields["event"], json.loads(fields["data"])
        lines = []


# --- auth ----------------------------------------------------------------------------------


@dataclasses.dataclass
class AuthWorld:
    c: Coordinator
    keys: dict[str, str]  # name -> API key: a (team-a locker), b (team-b locker),
    #                       viewer (team-b viewer), admin (ops admin)


@pytest_asyncio.fixture(params=["memory", "etcd"])
async def world(request: pytest.FixtureRequest, tmp_path: Path,
                key_prefix: str) -> AsyncIterator[AuthWorld]:
    keys, entries = {}, []
    for name, tenant, role in (("a", "team-a", "locker"), ("b", "team-b", "locker"),
                               ("viewer", "team-b", "viewer"), ("admin", "ops", "admin")):
        keys[name], digest = new_api_key()
        entries.append({"sha256": digest, "tenant": tenant, "role": role})
    auth = write_auth(tmp_path / "auth.yaml", {"api_keys": entries,
                                                "session_secret": "s" * 40})
    endpoint = ""
    if request.param == "etcd":
        server: EtcdServer = request.getfixturevalue("etcd")
        endpoint = server.endpoint
    c = await Coordinator(page_config(request.param, endpoint, key_prefix,
                                      auth_file=str(auth))).start()
    yield AuthWorld(c, keys)
    await c.stop()


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(**launch_options())
        yield b
        await b.close()


async def test_auth_scopes_the_page_to_the_viewers_tenant(world: AuthWorld,
                                                          browser: Browser) -> None:
    c, keys = world.c, world.keys
    tag = uuid.uuid4().hex[:6]
    shared, b_only = f"shared-{tag}", f"b-only-{tag}"
    async with AsyncLockClient(c.address, owner="secret-owner-a", api_key=keys["a"]) as a, \
            AsyncLockClient(c.address, owner="owner-b", api_key=keys["b"]) as b:
        leases = [await a.acquire(shared, ttl=30), await b.acquire(shared, ttl=30),
                  await b.acquire(b_only, ttl=30)]

        # Plain HTTP: no credential or a wrong one is refused; nothing is listed.
        for credential in (None, "tlk_wrong"):
            for path in ("/status/locks", "/status/events"):
                status, headers, body = await http_get(page_url(c, path), credential)
                assert status == 401, (path, credential, status)
                assert headers["WWW-Authenticate"].startswith("Bearer")
                assert b"secret-owner-a" not in body and shared.encode() not in body
        # The static page itself holds no data and loads without one.
        assert (await http_get(page_url(c, "/status")))[0] == 200

        viewer = await locks_json(c, credential=keys["viewer"])
        assert {lock["key"] for lock in viewer["locks"]} == {shared, b_only}
        assert {lock["lock"]["owner"] for lock in viewer["locks"]} == {"owner-b"}
        assert "team-a" not in str(viewer) and "secret-owner-a" not in str(viewer)
        admin = await locks_json(c, credential=keys["admin"])
        assert {f"team-a/{shared}", f"team-b/{shared}", f"team-b/{b_only}"} <= {
            lock["key"] for lock in admin["locks"]}

        # The browser: asked for a credential, then shown the viewer's tenant only.
        page = await open_page(browser, c)
        await page.wait_for_selector('#conn[data-state="denied"]', timeout=10_000)
        assert await page.is_visible("#login")
        assert await shown_keys(page) == []
        await page.fill("#token", keys["viewer"])
        await page.click("#login button")
        await wait_row(page, shared)
        await wait_row(page, b_only)
        assert await holder(page, shared) == "owner-b"
        # Live events are scoped too: team-a's new lock never arrives, team-b's does.
        a_late, b_late = f"a-late-{tag}", f"b-late-{tag}"
        leases.append(await a.acquire(a_late, ttl=30))
        leases.append(await b.acquire(b_late, ttl=30))
        await wait_row(page, b_late)
        assert sorted(await shown_keys(page)) == sorted([shared, b_only, b_late])
        content = await page.content()
        assert "secret-owner-a" not in content and "team-a" not in content
        # The credential stays out of the URL.
        assert keys["viewer"] not in page.url

        admin_page = await open_page(browser, c)
        await admin_page.fill("#token", keys["admin"])
        await admin_page.click("#login button")
        await wait_row(admin_page, f"team-a/{a_late}")
        assert await holder(admin_page, f"team-a/{shared}") == "secret-owner-a"
        for lease in leases:
            await lease.release()
