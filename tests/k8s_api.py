"""A minimal Kubernetes REST client for the cluster tests: JSON over HTTPS with a client
certificate, returning the HTTP status as the apiserver sent it (an Eviction refused by a
PodDisruptionBudget is a 429, and the tests look at exactly that).

    api = KubeApi("https://127.0.0.1:6443", pki.clients["admin"])
    deploy = api.get(api.path("apps/v1", "Deployment", "tl-threadlock", namespace="locks"))
    api.wait(lambda: api.get(...)["status"].get("readyReplicas") == 2, what="2 ready")
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from etcd_server import TlsFiles

Obj = dict[str, Any]


class ApiError(Exception):
    """A non-2xx answer; ``status`` is the HTTP status, ``body`` the apiserver's Status."""

    def __init__(self, method: str, path: str, status: int, body: Obj) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {body.get('message', body)}")
        self.status = status
        self.body = body


def plural(kind: str) -> str:
    """The resource name of `kind` (the chart's kinds and Kubernetes' regular plurals)."""
    lower = kind.lower()
    return lower[:-1] + "ies" if lower.endswith("y") else lower + "s"


class KubeApi:
    def __init__(self, server: str, tls: TlsFiles) -> None:
        self.server = server
        self._ctx = ssl.create_default_context(cafile=str(tls.ca))
        self._ctx.load_cert_chain(str(tls.cert), str(tls.key))

    @staticmethod
    def path(api_version: str, kind: str, name: str = "", *, namespace: str = "") -> str:
        """The URL path of a resource (a collection when `name` is empty)."""
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        if namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{plural(kind)}"
        return f"{base}/{name}" if name else base

    def request(self, method: str, path: str, body: Obj | None = None, *,
                query: dict[str, str] | None = None,
                content_type: str = "application/json") -> Obj:
        url = self.server + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers={
            "Content-Type": content_type, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self._ctx, timeout=30) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                status_body: Obj = json.loads(raw)
            except ValueError:
                status_body = {"message": raw.decode(errors="replace")}
            raise ApiError(method, path, e.code, status_body) from None
        if not raw:
            return {}
        try:
            result: Obj = json.loads(raw)
        except ValueError:  # the health endpoints (/readyz, /livez) answer plain text
            return {"text": raw.decode(errors="replace")}
        return result

    def get(self, path: str, **query: str) -> Obj:
        return self.request("GET", path, query=query or None)

    def exists(self, path: str) -> bool:
        try:
            self.get(path)
        except ApiError as e:
            if e.status == 404:
                return False
            raise
        return True

    def items(self, path: str, **query: str) -> list[Obj]:
        found: list[Obj] = self.get(path, **query)["items"]
        return found

    def create(self, path: str, body: Obj) -> Obj:
        return self.request("POST", path, body)

    def merge_patch(self, path: str, body: Obj) -> Obj:
        return self.request("PATCH", path, body, content_type="application/merge-patch+json")

    def evict(self, namespace: str, pod: str) -> Obj:
        """POST the pod's Eviction (what `kubectl drain` does): ApiError 429 when a
        PodDisruptionBudget does not allow it now."""
        return self.create(self.path("v1", "Pod", pod, namespace=namespace) + "/eviction", {
            "apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": pod, "namespace": namespace}})

    def wait(self, check: Callable[[], object], *, what: str, timeout: float = 90.0) -> None:
        """Poll `check` until it returns something truthy; AssertionError naming `what` (and
        the last ApiError, if any) after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            try:
                if check():
                    return
                last = ""
            except ApiError as e:
                last = f" (last error: {e})"
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{last}")
            time.sleep(0.2)
