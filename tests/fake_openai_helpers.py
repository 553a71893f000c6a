"""Helpers for the fake OpenAI tests: bounded waits on the fake's stats (never fixed sleeps)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

from threadlock.fake_openai import FakeOpenAI

BOUND = 15.0  # seconds: generous, the machines are shared


def wait_stats(fake: FakeOpenAI, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Poll the fake's stats until `check` holds (fails after BOUND seconds)."""
    deadline = time.monotonic() + BOUND
    while True:
        stats = fake.stats()
        if check(stats):
            return stats
        assert time.monotonic() < deadline, f"stats never satisfied the check: {stats}"
        time.sleep(0.01)


async def await_stats(fake: FakeOpenAI, check: Callable[[dict[str, Any]], bool]
                      ) -> dict[str, Any]:
    deadline = time.monotonic() + BOUND
    while True:
        stats = await asyncio.to_thread(fake.stats)
        if check(stats):
            return stats
        assert time.monotonic() < deadline, f"stats never satisfied the check: {stats}"
        await asyncio.sleep(0.01)


def item_texts(items: Iterable[Any]) -> list[tuple[str, str]]:
    """(role, text) of each conversation message item, through plain dicts (the SDK's item
    types are wide unions)."""
    out = []
    for item in items:
        data = item.to_dict()
        out += [(data["role"], part["text"]) for part in data["content"] if "text" in part]
    return out


def requests(fake: FakeOpenAI, route: str) -> int:
    """How many requests the fake received on `route`, e.g. "POST /v1/responses"."""
    count: int = fake.stats()["requests"]["by_route"].get(route, 0)
    return count
