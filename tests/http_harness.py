"""Helpers for tests of the coordinator's HTTP (Connect protocol) port: a coordinator with it
on, and one Connect unary call made with aiohttp's client, as any HTTP client would make it."""

from __future__ import annotations

import dataclasses
import json
import ssl
from typing import Any

import aiohttp
from google.protobuf import json_format
from google.protobuf.message import Message
from harness import Coordinator

from threadlock.config import Config
from threadlock.v1 import lock_pb2 as pb

SERVICE = "/threadlock.v1.LockService/"


def with_http(config: Config) -> Config:
    return dataclasses.replace(config, http_listen="127.0.0.1:0")


def base_url(c: Coordinator, scheme: str = "http") -> str:
    assert c.server.http_port, "the coordinator has no HTTP port"
    return f"{scheme}://127.0.0.1:{c.server.http_port}"


@dataclasses.dataclass
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> dict[str, Any]:
        value = json.loads(self.raw)
        assert isinstance(value, dict), value
        return value

    @property
    def code(self) -> str:
        """The Connect error code ("" for a 200)."""
        return "" if self.status == 200 else str(self.json["code"])

    @property
    def message(self) -> str:
        return str(self.json.get("message", ""))


async def post(session: aiohttp.ClientSession, url: str, method: str,
               body: bytes | str | dict[str, Any], *, content_type: str = "application/json",
               timeout_ms: int | None = None, headers: dict[str, str] | None = None,
               ssl_context: ssl.SSLContext | None = None) -> Answer:
    """POST one Connect unary call; `body` dict -> JSON."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    sent = {"Content-Type": content_type, "Connect-Protocol-Version": "1", **(headers or {})}
    if timeout_ms is not None:
        sent["Connect-Timeout-Ms"] = str(timeout_ms)
    async with session.post(url + SERVICE + method, data=data, headers=sent,
                            ssl=ssl_context if ssl_context is not None else True) as resp:
        raw = await resp.read()
        return Answer(resp.status, {k.lower(): v for k, v in resp.headers.items()}, raw)


async def call_json(session: aiohttp.ClientSession, url: str, method: str,
                    body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """A JSON call that must succeed; its answer as a dict."""
    answer = await post(session, url, method, body, **kw)
    assert answer.status == 200, (answer.status, answer.raw)
    assert answer.headers["content-type"].startswith("application/json")
    return answer.json


async def call_proto(session: aiohttp.ClientSession, url: str, method: str,
                     request: Message, response: type[Message], **kw: Any) -> Any:
    """An application/proto call that must succeed; its answer as a message."""
    answer = await post(session, url, method, request.SerializeToString(),
                        content_type="application/proto", **kw)
    assert answer.status == 200, (answer.status, answer.raw)
    assert answer.headers["content-type"] == "application/proto"
    message = response()
    message.ParseFromString(answer.raw)
    return message


def to_json(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message)


__all__ = ["SERVICE", "Answer", "base_url", "call_json", "call_proto", "pb", "post",
           "to_json", "with_http"]
