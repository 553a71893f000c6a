"""Keeps the auth file in force: loads it at start-up (errors are fatal there), then reloads it
when its content (or a JWKS file it names) changes, polled every POLL_INTERVAL seconds, and on
SIGHUP. A reload that fails keeps the previous policy and logs why: a typo pushed to the Secret
must not lock every caller out.

Kubernetes updates a mounted Secret by swapping a symlink, so the poll compares content
hashes, not mtimes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from pathlib import Path

from threadlock.auth import policy as policy_mod
from threadlock.auth.policy import AuthFileError, Policy
from threadlock.auth.verify import Authenticator

log = logging.getLogger("threadlock.auth")

POLL_INTERVAL = 2.0


def _fingerprint(path: str, current: Policy | None) -> str:
    digest = hashlib.sha256()
    for name in [path, *(i.jwks_file for i in (current.jwt if current else ()) if i.jwks_file)]:
        file = Path(path).parent / name if name != path else Path(path)
        try:
            digest.update(file.read_bytes())
        except OSError:
            digest.update(b"\x00missing")
    return digest.hexdigest()


class AuthReloader:
    def __init__(self, path: str, poll_interval: float = POLL_INTERVAL) -> None:
        self.path = path
        self.poll_interval = poll_interval
        policy = policy_mod.load(path)  # AuthFileError: the caller reports it at start-up
        self.authenticator = Authenticator(policy)
        self._seen = _fingerprint(path, policy)
        self._task: asyncio.Task[None] | None = None
        self.reloads = 0  # successful reloads, for tests and logs
        self.reloaded = asyncio.Event()  # set after each reload attempt

    @property
    def policy(self) -> Policy:
        return self.authenticator.policy

    def start(self) -> None:
        self._task = asyncio.create_task(self._poll(), name="threadlock-auth-reload")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def reload(self, why: str) -> bool:
        """Load the file again; True if the new policy is in force."""
        self._seen = _fingerprint(self.path, self.policy)
        try:
            policy = policy_mod.load(self.path)
        except AuthFileError as exc:
            log.error("auth file reload failed, keeping the previous policy: %s", exc,
                      extra={"auth_file": self.path, "reason": why})
            self.reloaded.set()
            return False
        self.authenticator.replace(policy)
        self._seen = _fingerprint(self.path, policy)
        self.reloads += 1
        log.info("auth file reloaded (%s): %d API keys, %d JWT issuers, %d mTLS identities",
                 why, len(policy.api_keys), len(policy.jwt), len(policy.mtls),
                 extra={"auth_file": self.path, "reason": why})
        self.reloaded.set()
        return True

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            if _fingerprint(self.path, self.policy) != self._seen:
                self.reload("file changed")
