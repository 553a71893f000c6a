"""The fake's whole state, free of I/O: conversations, responses, threads, messages, runs and
files, their lifecycles driven by an injected clock, OpenAI's busy rules, and the counters that
`GET /_fake/stats` reports.

Lifecycles are computed, not scheduled: an operation records when it started and how long it
takes, and every call first `advance()`s, which completes whatever is due (in due order) and
applies its effects (output items appended, run messages added). A test can thus drive the state
with a hand-moved clock; the HTTP layer only waits for `next_due()` to stream or block.

Failure modes: every rule violation raises `errors.ApiError` (OpenAI's status, message, param,
code); conflicts are counted before they are raised.
"""

from __future__ import annotations

import dataclasses
import math
import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from threadlock.fake_openai import errors

CONFLICT_KINDS = ("conversation_locked", "thread_active_run", "message_during_run")
# `metadata` key with the seconds an operation takes ("inf": until cancelled).
FAKE_SECONDS = "fake_seconds"
# `metadata` key choosing how an operation ends instead of completing (see Core.outcome).
FAKE_OUTCOME = "fake_outcome"


@dataclasses.dataclass
class Config:
    """Durations in seconds (math.inf allowed: never ends until cancelled)."""

    response_seconds: float = 0.2
    run_seconds: float = 0.2
    cancel_seconds: float = 0.05  # how long a run stays `cancelling`

    def update(self, values: Mapping[str, object]) -> None:
        """Set fields from JSON-ish values; raises ApiError naming a bad field."""
        names = {f.name for f in dataclasses.fields(self)}
        for key, value in values.items():
            if key not in names:
                raise errors.ApiError(400, f"Unknown config field '{key}'; known: "
                                      f"{', '.join(sorted(names))}.", param=key)
            setattr(self, key, seconds(value, key))


def seconds(value: object, param: str) -> float:
    """A non-negative number of seconds from a number or numeric string ("inf" allowed)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise errors.invalid_type(param, "a number of seconds", value)
    try:
        result = float(value)
    except ValueError:
        raise errors.invalid_value(param, f"expected a number of seconds, got {value!r}.") \
            from None
    if math.isnan(result) or result < 0:
        raise errors.invalid_value(param, f"must be a non-negative number, got {value!r}.")
    return result


class Core:
    """What the stores share: the clock, the config, ids and the counters."""

    def __init__(self, clock: Callable[[], float], wall: Callable[[], float],
                 config: Config) -> None:
        self.clock = clock
        self.config = config
        self._wall_offset = wall() - clock()
        self.reset_counters()

    def reset_counters(self) -> None:
        self.conflicts: Counter[str] = Counter({kind: 0 for kind in CONFLICT_KINDS})
        self.requests: Counter[str] = Counter()
        self.completed: Counter[str] = Counter({"responses": 0, "runs": 0})
        self.cancelled: Counter[str] = Counter({"responses": 0, "runs": 0})
        self.max_concurrent: dict[str, dict[str, int]] = {"conversations": {}, "threads": {}}

    def now(self) -> float:
        return self.clock()

    def unix(self, at: float | None = None) -> int:
        """Unix seconds of clock time `at` (default now), as OpenAI's `created_at`."""
        return int(self._wall_offset + (self.clock() if at is None else at))

    @staticmethod
    def new_id(prefix: str) -> str:
        return prefix + secrets.token_hex(12)

    def duration(self, metadata: Mapping[str, str], default: float) -> float:
        if FAKE_SECONDS in metadata:
            return seconds(metadata[FAKE_SECONDS], f"metadata.{FAKE_SECONDS}")
        return default

    @staticmethod
    def outcome(metadata: Mapping[str, str], allowed: tuple[str, ...]) -> str:
        """How the operation ends: "completed" unless metadata asks for one of `allowed`."""
        value = metadata.get(FAKE_OUTCOME, "completed")
        if value != "completed" and value not in allowed:
            raise errors.invalid_value(f"metadata.{FAKE_OUTCOME}", "expected one of "
                                       f"{', '.join(('completed', *allowed))}, got {value!r}.")
        return value

    def attempt(self, kind: str, key: str, busy: int) -> None:
        """Record an operation attempted on `key` while `busy` others were in flight there."""
        seen = self.max_concurrent[kind]
        seen[key] = max(seen.get(key, 0), busy + 1)

    def conflict(self, kind: str) -> None:
        self.conflicts[kind] += 1


def metadata_arg(value: object, param: str = "metadata") -> dict[str, str]:
    """OpenAI metadata: an object of string values (None: empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.invalid_type(param, "an object", value)
    for key, item in value.items():
        if not isinstance(item, str):
            raise errors.invalid_type(f"{param}.{key}", "a string", item)
    return dict(value)


class FakeState:
    """Everything the fake knows; see the module docstring. Not thread-safe: the HTTP layer
    calls it from one event loop."""

    def __init__(self, config: Config | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        # Imported here: the stores import this module for Core.
        from threadlock.fake_openai.conversations import ConversationStore
        from threadlock.fake_openai.threads import ThreadStore

        self.core = Core(clock, wall, config or Config())
        self.conversations = ConversationStore(self.core)
        self.threads = ThreadStore(self.core)
        self.files: dict[str, dict[str, Any]] = {}

    @property
    def config(self) -> Config:
        return self.core.config

    def advance(self) -> None:
        self.conversations.advance()
        self.threads.advance()

    def next_due(self) -> float | None:
        """Clock time of the next lifecycle change, None when nothing is pending."""
        self.advance()
        dues = [d for d in (self.conversations.next_due(), self.threads.next_due())
                if d is not None]
        return min(dues) if dues else None

    def reset(self) -> None:
        """Forget every object and counter (the config stays)."""
        self.conversations.clear()
        self.threads.clear()
        self.files.clear()
        self.core.reset_counters()

    def count_request(self, route: str) -> None:
        self.core.requests[route] += 1

    def add_file(self, filename: str, size: int, purpose: str) -> dict[str, Any]:
        file_id = self.core.new_id("file-")
        file = {"id": file_id, "object": "file", "bytes": size,
                "created_at": self.core.unix(), "filename": filename, "purpose": purpose,
                "status": "processed", "status_details": None, "expires_at": None}
        self.files[file_id] = file
        return file

    def get_file(self, file_id: str) -> dict[str, Any]:
        if file_id not in self.files:
            raise errors.not_found("file", file_id)
        return self.files[file_id]

    def stats(self) -> dict[str, Any]:
        """The `GET /_fake/stats` document (shape in the package docstring)."""
        self.advance()
        c = self.core
        return {
            "conflicts": dict(c.conflicts),
            "conflicts_total": sum(c.conflicts.values()),
            "requests": {"total": sum(c.requests.values()), "by_route": dict(c.requests)},
            "completed": dict(c.completed),
            "cancelled": dict(c.cancelled),
            # Ids, so that a test or the stress tool can cancel what is still in flight.
            "active": {"responses": self.conversations.active_ids(),
                       "runs": self.threads.active_ids()},
            "max_concurrent": {kind: dict(seen) for kind, seen in c.max_concurrent.items()},
            # JSON has no infinity: "inf" as metadata.fake_seconds spells it.
            "config": {k: v if math.isfinite(v) else "inf"
                       for k, v in dataclasses.asdict(c.config).items()},
        }
