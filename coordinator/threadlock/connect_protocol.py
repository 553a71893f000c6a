"""The Connect protocol's unary rules, I/O-free: what a request's headers and body mean, and
how an answer or an error is written (https://connectrpc.com/docs/protocol). The HTTP server
around it is http_face.py.

Only unary POSTs exist here (every LockService RPC is unary), with `application/json` (the
proto3 JSON mapping; unknown fields are refused) or `application/proto` bodies, gzip or identity
content-encoding, and `Connect-Timeout-Ms` as the call's deadline. A failure is a `LockError`
(errors.py) like every other: `ProtocolError` adds the codes only the protocol layer raises.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from dataclasses import dataclass

import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from threadlock.errors import InvalidArgument, LockError, status_of
from threadlock.v1 import lock_pb2 as pb

SERVICE = pb.DESCRIPTOR.services_by_name["LockService"]
PREFIX = f"/{SERVICE.full_name}/"
MAX_BODY = 1 << 20  # bytes of a request body, after decompression (requests are tiny)
GZIP_MIN = 1024  # smaller answers are sent uncompressed: gzip would not make them smaller

# Connect code and HTTP status of each gRPC status code: the table "Error Codes" of the
# Connect protocol reference (connectrpc.com/docs/protocol#error-codes).
CODES: dict[grpc.StatusCode, tuple[str, int]] = {
    grpc.StatusCode.CANCELLED: ("canceled", 499),
    grpc.StatusCode.UNKNOWN: ("unknown", 500),
    grpc.StatusCode.INVALID_ARGUMENT: ("invalid_argument", 400),
    grpc.StatusCode.DEADLINE_EXCEEDED: ("deadline_exceeded", 504),
    grpc.StatusCode.NOT_FOUND: ("not_found", 404),
    grpc.StatusCode.ALREADY_EXISTS: ("already_exists", 409),
    grpc.StatusCode.PERMISSION_DENIED: ("permission_denied", 403),
    grpc.StatusCode.RESOURCE_EXHAUSTED: ("resource_exhausted", 429),
    grpc.StatusCode.FAILED_PRECONDITION: ("failed_precondition", 400),
    grpc.StatusCode.ABORTED: ("aborted", 409),
    grpc.StatusCode.OUT_OF_RANGE: ("out_of_range", 400),
    grpc.StatusCode.UNIMPLEMENTED: ("unimplemented", 501),
    grpc.StatusCode.INTERNAL: ("internal", 500),
    grpc.StatusCode.UNAVAILABLE: ("unavailable", 503),
    grpc.StatusCode.DATA_LOSS: ("data_loss", 500),
    grpc.StatusCode.UNAUTHENTICATED: ("unauthenticated", 401),
}


class ProtocolError(LockError):
    """A request the Connect layer refuses before any RPC runs. `http_status` overrides the
    code's usual status where the protocol says so (415 for an unknown content type, 404 for
    an unknown procedure, 405 for a method other than POST)."""

    def __init__(self, code: grpc.StatusCode, message: str, http_status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status


@dataclass(frozen=True)
class Procedure:
    name: str  # e.g. "Acquire": also the method of LockRpcs and the metrics' label
    request: type[Message]
    response: type[Message]


PROCEDURES: dict[str, Procedure] = {
    PREFIX + m.name: Procedure(m.name, getattr(pb, m.input_type.name),
                               getattr(pb, m.output_type.name))
    # Unary only: streaming methods (Watch, Stream) are served on the gRPC port (docs/http.md).
    for m in SERVICE.methods if not (m.server_streaming or m.client_streaming)}


@dataclass(frozen=True)
class Call:
    """What a request's method, path and headers ask for."""

    procedure: Procedure
    codec: str  # "json" or "proto"
    timeout: float | None  # seconds, from Connect-Timeout-Ms; None: no deadline
    gzipped: bool  # the body is gzip-compressed
    gzip_answer: bool  # the client accepts a gzip-compressed answer


def parse_call(method: str, path: str, headers: dict[str, str]) -> Call:
    """The Call of a request; `headers` keys are lower case. Raises ProtocolError or
    InvalidArgument (naming the header)."""
    procedure = PROCEDURES.get(path)
    if procedure is None:
        raise ProtocolError(grpc.StatusCode.UNIMPLEMENTED, f"no such procedure: {path} "
                            f"(this port serves {PREFIX}<Method>, the Connect protocol)", 404)
    if method != "POST":
        raise ProtocolError(grpc.StatusCode.UNIMPLEMENTED,
                            f"{method} not allowed: Connect unary calls are POSTs", 405)
    content_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    codec = {"application/json": "json", "application/proto": "proto"}.get(content_type)
    if codec is None:
        raise ProtocolError(grpc.StatusCode.UNIMPLEMENTED,
                            f"content-type {content_type or '(none)'!r} is not supported: "
                            "use application/json or application/proto", 415)
    version = headers.get("connect-protocol-version")
    if version is not None and version.strip() != "1":
        raise InvalidArgument("connect-protocol-version", f"must be 1, got {version!r}")
    encoding = headers.get("content-encoding", "identity").strip().lower() or "identity"
    if encoding not in ("identity", "gzip"):
        raise ProtocolError(grpc.StatusCode.UNIMPLEMENTED,
                            f"content-encoding {encoding!r} is not supported: use gzip or "
                            "identity")
    # Without Accept-Encoding the client accepts what it sent (the protocol's rule).
    accepted = headers.get("accept-encoding", encoding)
    gzip_answer = "gzip" in (e.partition(";")[0].strip().lower() for e in accepted.split(","))
    return Call(procedure, codec, parse_timeout(headers.get("connect-timeout-ms")),
                encoding == "gzip", gzip_answer)


def parse_timeout(value: str | None) -> float | None:
    """Seconds of a Connect-Timeout-Ms value: a positive integer of at most 10 digits."""
    if value is None:
        return None
    value = value.strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 10 and int(value) > 0):
        raise InvalidArgument("connect-timeout-ms", "must be a positive whole number of "
                              f"milliseconds (at most 10 digits), got {value!r}")
    return int(value) / 1000


def decode(call: Call, body: bytes) -> Message:
    """The request message of `body`. Raises InvalidArgument naming the field at fault."""
    if call.gzipped and body:  # the protocol: never decompress an empty body
        body = _gunzip(body)
    message = call.procedure.request()
    if call.codec == "proto":
        try:
            message.ParseFromString(body)
        except DecodeError:
            raise InvalidArgument("body", f"not a binary {message.DESCRIPTOR.full_name} "
                                  "(application/proto)") from None
        return message
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument("body", "not UTF-8 (application/json)") from None
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise InvalidArgument("body", f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidArgument("body", f"must be a JSON object (a {message.DESCRIPTOR.full_name})"
                              f", got {type(value).__name__}")
    try:
        json_format.ParseDict(value, message, ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        raise _json_problem(str(exc), message.DESCRIPTOR.name) from None
    return message


def _gunzip(body: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip framing
    try:
        out = inflater.decompress(body, MAX_BODY + 1)
    except zlib.error:
        raise InvalidArgument("content-encoding", "body is not valid gzip") from None
    if len(out) > MAX_BODY:
        raise ProtocolError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                            f"request body over {MAX_BODY} bytes once decompressed")
    if not inflater.eof:
        raise InvalidArgument("content-encoding", "body is truncated gzip")
    return out


_UNKNOWN = re.compile(r'has no field named "([^"]*)" at "([^"]*)"')
_BAD_VALUE = re.compile(r"^Failed to parse (\w+) field: (.*?)\.?(?: at ([\w.\[\]]+)\.)?$",
                        re.DOTALL)


def _json_problem(text: str, root: str) -> InvalidArgument:
    """An InvalidArgument naming the field of one of json_format's ParseError texts, e.g.
    'Message type "threadlock.v1.AcquireRequest" has no field named "bogus" at
    "AcquireRequest".' -> "bogus: unknown field"."""
    text = text.split("\n", 1)[0].strip()  # drop the list of available fields
    if m := _UNKNOWN.search(text):
        return InvalidArgument(_path(m.group(2), root, m.group(1)), "unknown field")
    if m := _BAD_VALUE.match(text):
        where = m.group(3) or ""
        name = _path(where, root, "") if where.endswith(m.group(1)) else _path(
            where, root, m.group(1))
        return InvalidArgument(name, m.group(2))
    return InvalidArgument("body", text)


def _path(where: str, root: str, name: str) -> str:
    """"AcquireRequest.ttl" + "x" -> "ttl.x": a field's path without the message's name."""
    parts = [p for p in where.split(".") if p] if where else []
    if parts and parts[0] == root:
        parts = parts[1:]
    return ".".join([*parts, name] if name else parts) or name or "body"


def encode(call: Call, message: Message) -> bytes:
    """The answer's body. JSON shows fields at their default values too (`"released":
    false`, not `{}`), which plain-JSON clients find easier; Connect clients accept both."""
    if call.codec == "proto":
        return message.SerializeToString()
    as_dict = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    return json.dumps(as_dict, separators=(",", ":")).encode()


def content_type(call: Call) -> str:
    return f"application/{call.codec}"


def compress(call: Call | None, body: bytes) -> tuple[bytes, bool]:
    """(body, gzipped): gzip when the client accepts it and it is worth it."""
    if call is not None and call.gzip_answer and len(body) >= GZIP_MIN:
        return gzip.compress(body, compresslevel=5), True
    return body, False


def error_of(exc: BaseException) -> tuple[grpc.StatusCode, int, bytes]:
    """(code, HTTP status, Connect error JSON) of a failure; unexpected ones are internal."""
    code, message = status_of(exc)
    name, status = CODES.get(code, ("unknown", 500))
    if isinstance(exc, ProtocolError) and exc.http_status:
        status = exc.http_status
    body: dict[str, str] = {"code": name}
    if message:
        body["message"] = message
    return code, status, json.dumps(body).encode()
