"""Logging set-up for the coordinator, stdlib only.

`json` (the default) writes one JSON object per line to stderr, which log collectors parse
without configuration: {"ts", "level", "logger", "msg", ...}, plus every field passed with
`extra=` (key, owner, fencing_token, outcome, ...) as a top-level field. `text` is for humans
at a terminal, with the same extra fields appended as key=value.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
from typing import Any

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RESERVED and not k.startswith("_")}


def _timestamp(record: logging.LogRecord) -> str:
    when = datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Values JSON cannot encode are written as str()."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in _extras(record).items():
            # An extra field never overwrites the four fixed ones, so parsers can rely on them.
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`2024-05-01T12:00:00.123Z INFO threadlock.server: msg key=value ...`"""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        extras = " ".join(f"{k}={_text(v)}" for k, v in _extras(record).items())
        if extras:
            line = f"{line} {extras}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        return line


def _text(value: Any) -> str:
    text = str(value)
    # Quote values with spaces (or empty ones) so key=value pairs stay unambiguous.
    return json.dumps(text, ensure_ascii=False) if (not text or " " in text) else text


def setup_logging(level: str | int = "INFO", fmt: str = "json") -> None:
    """Send all logging to stderr in `fmt` ("json" or "text") at `level`, replacing any
    handlers already on the root logger (so calling it twice does not duplicate lines)."""
    if fmt not in ("json", "text"):
        raise ValueError(f"log format: must be json or text, got {fmt!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    # Neither format prints where a record was made, nor thread or process names: skip
    # computing them for every record (the logging HOWTO's "Optimization"; a grant's and a
    # release's INFO records otherwise spend ~1% of a busy coordinator's CPU walking frames).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
