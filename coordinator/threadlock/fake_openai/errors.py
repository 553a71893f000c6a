"""OpenAI-shaped API errors raised by the fake's state and request parsing.

Every error becomes `{"error": {"message", "type", "param", "code"}}` with its HTTP status. The
concurrency errors are HTTP 400 with `x-should-retry: false` (see `ApiError.retry`), exactly so
that no client hides a race by retrying it (the openai package retries 409s by itself).
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer: HTTP `status` with OpenAI's error body."""

    def __init__(self, status: int, message: str, *, param: str | None = None,
                 code: str | None = None, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.kind = kind

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param,
                          "code": self.code}}


CONVERSATION_LOCKED = ("Another process is currently operating on this conversation. "
                       "Please retry in a few seconds.")


def conversation_locked() -> ApiError:
    return ApiError(400, CONVERSATION_LOCKED, param="conversation", code="conversation_locked")


def thread_active_run(thread_id: str, run_id: str) -> ApiError:
    return ApiError(400, f"Thread {thread_id} already has an active run {run_id}.")


def message_during_run(thread_id: str, run_id: str) -> ApiError:
    return ApiError(400, f"Can't add messages to {thread_id} while a run {run_id} is active.")


def not_found(what: str, ident: str, param: str | None = None) -> ApiError:
    return ApiError(404, f"No {what} found with id '{ident}'.", param=param)


def missing(param: str) -> ApiError:
    return ApiError(400, f"Missing required parameter: '{param}'.", param=param,
                    code="missing_required_parameter")


def invalid_type(param: str, expected: str, value: object) -> ApiError:
    got = {bool: "a boolean", int: "an integer", float: "a decimal", str: "a string",
           list: "an array", dict: "an object", type(None): "null"}.get(type(value), "a value")
    return ApiError(400, f"Invalid type for '{param}': expected {expected}, but got {got} "
                         "instead.", param=param, code="invalid_type")


def invalid_value(param: str, message: str) -> ApiError:
    return ApiError(400, f"Invalid value for '{param}': {message}", param=param,
                    code="invalid_value")
