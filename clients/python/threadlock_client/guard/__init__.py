"""The OpenAI guard (extra "openai"): `GuardedOpenAI` / `AsyncGuardedOpenAI` wrap a caller's
own openai client so that calls on one conversation (Responses) or thread (Assistants) never
overlap, across processes and pods. See sync.py for an example and _flows.py for the rules."""

from threadlock_client.guard._flows import GuardOptions, Reply
from threadlock_client.guard.aio import AsyncGuardedOpenAI
from threadlock_client.guard.sync import GuardedOpenAI

__all__ = ["AsyncGuardedOpenAI", "GuardOptions", "GuardedOpenAI", "Reply"]
