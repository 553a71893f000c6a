"""The Python SDK's conformance adapter: JSON commands on stdin, one JSON answer per line on
stdout, calls of the sync `LockClient`'s public API in between (tests/conformance/PROTOCOL.md).

    python clients/python/conformance/adapter.py   # driven by tests/test_sdk_conformance.py

Every SDK error becomes an error answer; anything else that goes wrong (a bad command, a bug
here or in the SDK) becomes an `Internal` answer, which fails the suite. Exits 0 at EOF.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from threadlock_client import (
    Conflict,
    CoordinatorError,
    InvalidArgument,
    Lease,
    LeaseLost,
    LockClient,
    NotFound,
    ThreadBusy,
    Tls,
    Unavailable,
)

Answer = dict[str, Any]
log = logging.getLogger("conformance-adapter")

# Most specific first: InvalidArgument, NotFound, ... are CoordinatorErrors too.
_TYPES: tuple[tuple[type[Exception], str], ...] = (
    (ThreadBusy, "ThreadBusy"), (LeaseLost, "LeaseLost"), (InvalidArgument, "InvalidArgument"),
    (NotFound, "NotFound"), (Conflict, "Conflict"), (Unavailable, "Unavailable"),
    (CoordinatorError, "CoordinatorError"), (ValueError, "ValueError"),
)


class ProtocolError(Exception):
    """The driver sent something this protocol does not know (answered as Internal)."""


def error_answer(exc: BaseException) -> Answer:
    kind = next((name for cls, name in _TYPES if isinstance(exc, cls)), "Internal")
    error: dict[str, Any] = {"type": kind, "message": str(exc)}
    if isinstance(exc, ThreadBusy):
        error.update(holder=exc.holder, waiters=exc.waiters, message=exc.message)
    elif isinstance(exc, LeaseLost):
        error["reason"] = exc.reason
    elif isinstance(exc, InvalidArgument):
        error["field"] = exc.field
    if kind == "Internal" and not isinstance(exc, ProtocolError):  # a bug: show where
        error["message"] = "".join(traceback.format_exception(exc))
    return {"ok": False, "error": error}


def _expires_in(lease: Lease) -> float:
    # The sync Lease exposes no expiry (LeaseView has acquired_at, not expires_at): read the
    # granted Lease message it wraps. Reported as an SDK gap; the TS API has expiresAt.
    expires_at: int = lease._pb.expires_at.ToNanoseconds()
    return round(expires_at / 1e9 - time.time(), 3)


class Adapter:
    """One LockClient and the leases it holds, by the driver's handle names."""

    def __init__(self) -> None:
        self.client: LockClient | None = None
        self.leases: dict[str, Lease] = {}
        self.commands: dict[str, Callable[[dict[str, Any]], Answer]] = {
            "init": self.init, "acquire": self.acquire, "check": self.check,
            "hold": self.hold, "wait_lost": self.wait_lost, "annotate": self.annotate,
            "release": self.release, "status": self.status, "close": self.close,
        }

    def handle(self, line: str) -> Answer:
        log.info("command %s", line.strip())  # the trail the driver shows when a test fails
        try:
            try:
                command = json.loads(line)
            except ValueError:
                raise ProtocolError(f"not JSON: {line!r}") from None
            if not isinstance(command, dict):
                raise ProtocolError(f"a command is a JSON object, got {line!r}")
            run = self.commands.get(command.get("cmd", ""))
            if run is None:
                raise ProtocolError(f"unknown command {command.get('cmd')!r}")
            return run(command)
        except Exception as exc:  # every failure is an answer; the process lives on
            log.debug("command %s failed", line.strip(), exc_info=True)
            return error_answer(exc)

    def _client(self) -> LockClient:
        if self.client is None:
            raise ProtocolError("send init first")
        return self.client

    def _lease(self, command: dict[str, Any]) -> Lease:
        handle = command["handle"]
        if handle not in self.leases:
            raise ProtocolError(f"no lease with handle {handle!r}")
        return self.leases[handle]

    def init(self, command: dict[str, Any]) -> Answer:
        if self.client is not None:
            raise ProtocolError("init was sent twice")
        tls = command.get("tls")
        self.client = LockClient(
            list(command["addresses"]), owner=command["owner"],
            tls=Tls(ca=tls.get("ca"), cert=tls.get("cert"), key=tls.get("key")) if tls else None,
            use_session=bool(command.get("session", False)),
            session_ttl=float(command.get("session_ttl", 30)),
            call_timeout=float(command.get("call_timeout", 10)))
        return {"ok": True, "sdk": f"python {version('threadlock-client')}"}

    def acquire(self, command: dict[str, Any]) -> Answer:
        handle = command["handle"]
        lease = self._client().acquire(
            command["key"], ttl=float(command["ttl"]), wait=float(command["wait"]),
            metadata=command.get("metadata"), request_id=command.get("request_id") or "")
        self.leases[handle] = lease
        return {"ok": True, "handle": handle, "key": lease.key,
                "fencing_token": lease.fencing_token, "lease_token": lease.lease_token,
                "session_id": lease.session_id, "expires_in": _expires_in(lease)}

    def check(self, command: dict[str, Any]) -> Answer:
        self._lease(command).check()
        return {"ok": True}

    def hold(self, command: dict[str, Any]) -> Answer:
        lease = self._lease(command)
        time.sleep(float(command["seconds"]))  # the background thread renews meanwhile
        lease.check()
        return {"ok": True}

    def wait_lost(self, command: dict[str, Any]) -> Answer:
        lease = self._lease(command)
        lost = lease.wait_lost(float(command["timeout"]))
        return {"ok": True, "lost": lost, "reason": lease.lost_reason}

    def annotate(self, command: dict[str, Any]) -> Answer:
        self._lease(command).annotate(**command["metadata"])
        return {"ok": True}

    def release(self, command: dict[str, Any]) -> Answer:
        return {"ok": True, "released": self._lease(command).release()}

    def status(self, command: dict[str, Any]) -> Answer:
        client = self._client()
        if "key" in command:
            states = client.status(command["key"])
        else:
            states = client.status(prefix=command.get("prefix", ""))
        locks = []
        for state in states:
            h = state.holder
            holder = ({"owner": h.owner, "fencing_token": h.fencing_token,
                       "metadata": dict(h.metadata)} if state.HasField("holder") and h.owner
                      else None)
            locks.append({"key": state.key, "holder": holder, "waiters": [
                {"owner": w.owner, "position": w.position} for w in state.waiters]})
        return {"ok": True, "locks": locks}

    def close(self, command: dict[str, Any]) -> Answer:
        client, self.client = self._client(), None
        client.close()
        self.leases.clear()
        return {"ok": True}

    def shutdown(self) -> None:
        if self.client is not None:
            self.client.close()


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    adapter = Adapter()
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            sys.stdout.write(json.dumps(adapter.handle(line)) + "\n")
            sys.stdout.flush()
    finally:
        adapter.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
