"""Credentials for a coordinator that runs with auth: every call carries
`authorization: Bearer <credential>` (gRPC metadata), from one of

    token="eyJ..."            a JWT (e.g. an OIDC token)
    token_file="/var/run/secrets/threadlock/token"   re-read when the file changes, because
                              Kubernetes rotates projected ServiceAccount tokens in place
    api_key="tlk_..."         a static API key

The header is added by a client interceptor, so it works on plaintext and TLS channels alike
(gRPC's call credentials refuse plaintext channels).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import grpc
import grpc.aio


class Bearer:
    """Where the credential comes from; `header()` is the `authorization` value now."""

    def __init__(self, token: str | None = None, token_file: str | None = None,
                 api_key: str | None = None) -> None:
        given = [n for n, v in (("token", token), ("token_file", token_file),
                                ("api_key", api_key)) if v is not None]
        if len(given) != 1:
            raise ValueError("token, token_file, api_key: give exactly one (or none for a "
                             "coordinator without auth)")
        for name, value in (("token", token), ("api_key", api_key)):
            if value is not None and (not value.strip() or any(c in value for c in "\r\n")):
                raise ValueError(f"{name}: must be a non-empty single line")
        self._fixed = (token or api_key or "").strip()
        self._file = token_file
        self._seen: tuple[float, int] | None = None  # (mtime, size) of the file last read
        self._lock = threading.Lock()
        if token_file is not None:
            self._read()  # a missing file is a deployment error: say so at construction

    def _read(self) -> str:
        assert self._file is not None
        try:
            st = os.stat(self._file)
            with self._lock:
                if self._seen != (st.st_mtime, st.st_size):
                    with open(self._file) as f:
                        self._fixed = f.read().strip()
                    self._seen = (st.st_mtime, st.st_size)
                return self._fixed
        except OSError as exc:
            raise ValueError(f"token_file: cannot read {self._file}: "
                             f"{exc.strerror or exc}") from None

    def header(self) -> str:
        return f"Bearer {self._read() if self._file is not None else self._fixed}"


def make_bearer(token: str | None, token_file: str | None, api_key: str | None) -> Bearer | None:
    if token is None and token_file is None and api_key is None:
        return None
    return Bearer(token, token_file, api_key)


def _with_header(metadata: Any, header: str) -> tuple[tuple[str, str | bytes], ...]:
    return (*(metadata or ()), ("authorization", header))


class _Details(grpc.ClientCallDetails):
    def __init__(self, base: grpc.ClientCallDetails,
                 metadata: tuple[tuple[str, str | bytes], ...]) -> None:
        self.method = base.method
        self.timeout = base.timeout
        self.metadata = metadata
        self.credentials = base.credentials
        self.wait_for_ready = getattr(base, "wait_for_ready", None)
        self.compression = getattr(base, "compression", None)


class SyncAuth(grpc.UnaryUnaryClientInterceptor):
    def __init__(self, bearer: Bearer) -> None:
        self.bearer = bearer

    def intercept_unary_unary(self, continuation: Callable[..., Any],
                              client_call_details: grpc.ClientCallDetails, request: Any) -> Any:
        details = _Details(client_call_details,
                           _with_header(client_call_details.metadata, self.bearer.header()))
        return continuation(details, request)


class AsyncAuth(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, bearer: Bearer) -> None:
        self.bearer = bearer

    async def intercept_unary_unary(self, continuation: Callable[..., Any],
                                    client_call_details: grpc.aio.ClientCallDetails,
                                    request: Any) -> Any:
        base = client_call_details
        details = grpc.aio.ClientCallDetails(
            base.method, base.timeout,
            grpc.aio.Metadata(*_with_header(base.metadata, self.bearer.header())),
            base.credentials, base.wait_for_ready)
        return await continuation(details, request)
