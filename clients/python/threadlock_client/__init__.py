"""threadlock_client: hold per-key locks from a threadlock coordinator, renewed in the
background, and guard OpenAI calls with them (`threadlock_client.guard`, extra "openai").

    from threadlock_client import LockClient
    with LockClient("127.0.0.1:50051").hold("conv_abc", ttl=30, wait=10) as lease:
        ...  # lease.fencing_token, lease.check()

asyncio: `threadlock_client.aio.AsyncLockClient`. Errors: `threadlock_client.errors`.
"""

from threadlock_client._common import Tls
from threadlock_client._watch import WatchEvent
from threadlock_client.client import Lease, LockClient
from threadlock_client.errors import (
    Conflict,
    ConversationLocked,
    CoordinatorError,
    InvalidArgument,
    LeaseLost,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    ThreadBusy,
    ThreadlockError,
    Unauthenticated,
    Unavailable,
)
from threadlock_client.watching import Watch

__all__ = [
    "Conflict",
    "ConversationLocked",
    "CoordinatorError",
    "InvalidArgument",
    "Lease",
    "LeaseLost",
    "LockClient",
    "NotFound",
    "PermissionDenied",
    "QuotaExceeded",
    "ThreadBusy",
    "ThreadlockError",
    "Tls",
    "Unauthenticated",
    "Unavailable",
    "Watch",
    "WatchEvent",
]
