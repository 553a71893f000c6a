"""The protected resource: one file per key holding the highest fencing token it has seen.
A write with a lower token is rejected, as a storage that honours fencing tokens would (a
write with the same token is the same holder writing again). flock(2) makes each
check-and-write atomic across the worker processes."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class FencedResource:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def write(self, key: str, fencing_token: int) -> bool:
        """Accept (True) unless a higher token was seen for `key` (False: rejected)."""
        fd = os.open(self.directory / key, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            seen = int(os.read(fd, 32) or b"0")
            if fencing_token < seen:
                return False
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, str(fencing_token).encode())
            return True
        finally:
            os.close(fd)  # releases the flock
