"""Test kit for the status page: a coordinator serving it (harness.Coordinator with
--status-page on its metrics port), Debian's Chromium driven headless by Playwright, and small
DOM readers. Playwright only drives the browser: its own browser downloads are never used
(`executable_path` is the system Chromium that scripts/setup.sh installs)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
import urllib.parse
from typing import Any

import aiohttp
from harness import Coordinator, etcd_config, memory_config
from playwright.async_api import Browser, Page

from threadlock.config import Config

CHROMIUM = "chromium"  # Debian's package (scripts/setup.sh: need_debian chromium)


def chromium_path() -> str:
    found = shutil.which(CHROMIUM)
    assert found, "chromium not found: run ./scripts/setup.sh (it installs Debian's chromium)"
    return found


def launch_options() -> dict[str, Any]:
    # Chromium refuses its setuid/namespace sandbox when run as root (CI runs as root), so
    # there and only there it runs with --no-sandbox; as any other user the sandbox stays on.
    return {"executable_path": chromium_path(), "headless": True,
            "chromium_sandbox": os.getuid() != 0}


def page_config(backend: str, etcd_endpoint: str = "", key_prefix: str = "",
                **changes: Any) -> Config:
    base = (memory_config() if backend == "memory"
            else etcd_config(etcd_endpoint, key_prefix))
    return dataclasses.replace(base, metrics_listen="127.0.0.1:0", status_page=True,
                               **changes)


def page_url(c: Coordinator, path: str = "/status") -> str:
    return f"http://127.0.0.1:{c.server.metrics_port}{path}"


async def http_get(url: str, credential: str | None = None,
                   ) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a GET (aiohttp: the server runs on this event loop)."""
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    async with aiohttp.ClientSession() as session, session.get(
            url, headers=headers, allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=10)) as resp:
        return resp.status, dict(resp.headers), await resp.read()


async def locks_json(c: Coordinator, prefix: str = "",
                     credential: str | None = None) -> dict[str, Any]:
    status, _, body = await http_get(
        page_url(c, f"/status/locks?prefix={urllib.parse.quote(prefix)}"), credential)
    assert status == 200, (status, body)
    doc: dict[str, Any] = json.loads(body)
    return doc


async def open_page(browser: Browser, c: Coordinator, query: str = "") -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 720})
    await page.goto(page_url(c, "/status" + query))
    return page


async def wait_live(page: Page, timeout: float = 10.0) -> None:
    await page.wait_for_selector('#conn[data-state="live"]', timeout=timeout * 1000)


def row(key: str) -> str:
    return f'#locks tr[data-key="{key}"]'


async def wait_row(page: Page, key: str, timeout: float = 10.0) -> float:
    """Seconds until `key`'s row is in the DOM (fails after `timeout`)."""
    start = time.monotonic()
    await page.wait_for_selector(row(key), state="attached", timeout=timeout * 1000)
    return time.monotonic() - start


async def wait_no_row(page: Page, key: str, timeout: float = 10.0) -> float:
    start = time.monotonic()
    await page.wait_for_selector(row(key), state="detached", timeout=timeout * 1000)
    return time.monotonic() - start


async def shown_keys(page: Page) -> list[str]:
    keys: list[str] = await page.eval_on_selector_all(
        "#locks tr[data-key]", "rows => rows.map(r => r.dataset.key)")
    return keys


async def holder(page: Page, key: str) -> str:
    owner: str = await page.get_attribute(f"{row(key)} td.holder", "data-owner") or ""
    return owner


async def waiters(page: Page, key: str) -> list[str]:
    owners: list[str] = await page.eval_on_selector_all(
        f"{row(key)} ol.waiters li", "items => items.map(i => i.dataset.owner)")
    return owners


async def seconds(page: Page, key: str, column: str) -> float:
    """The number a live column ("held-for", "time-left") shows now, in seconds."""
    value = await page.get_attribute(f"{row(key)} td.{column}", "data-seconds")
    assert value, f"{column} of {key} shows no number"
    return float(value)


async def bars(page: Page, key: str, kind: str) -> int:
    """How many values the key's "wait" or "hold" chart draws."""
    return await page.locator(f"{row(key)} svg.chart.{kind} rect").count()
