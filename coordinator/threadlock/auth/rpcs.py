"""LockRpcs under auth: each RPC checks the caller's role, scopes keys, tokens and session ids
to its tenant, enforces its quotas, then runs the plain RPC (service.LockRpcs), and audits.
Both faces call these when `--auth-file` is set; without it they call LockRpcs itself, so the
default path is exactly what it was.

Every check happens before the plain RPC runs, so a refused call changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from threadlock import tokens
from threadlock.auth.policy import valid_tenant
from threadlock.auth.quotas import QuotaKeeper
from threadlock.auth.tenancy import Tenancy, record
from threadlock.auth.verify import Authenticator, Principal
from threadlock.errors import (
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)
from threadlock.locks import LockManager
from threadlock.model import check_text
from threadlock.service import Left, LockRpcs, budget
from threadlock.v1 import lock_pb2 as pb
from threadlock.watch import EventHub
from threadlock.watch.rpc import selector, watch

T = TypeVar("T")


class GuardedRpcs(LockRpcs):
    def __init__(self, manager: LockManager, authenticator: Authenticator,
                 max_waiters: int = 10_000, hub: EventHub | None = None) -> None:
        super().__init__(manager, max_waiters, hub)
        self.tenancy = Tenancy(authenticator)
        self.quotas = QuotaKeeper()

    async def _guard(self, rpc: str, run: Callable[[Principal], Awaitable[T]]) -> T:
        p: Principal | None = None
        try:
            p = self.tenancy.principal(rpc)
            return await run(p)
        except (Unauthenticated, PermissionDenied, ResourceExhausted) as exc:
            record("denied", p, rpc, code=exc.code.name, reason=str(exc))
            raise

    def _quota(self, p: Principal) -> Any:
        return self.tenancy.policy.quotas.of(p.tenant)

    # Locks ----------------------------------------------------------------------------------
    async def Acquire(self, request: pb.AcquireRequest, left: Left) -> pb.AcquireResponse:
        async def run(p: Principal) -> pb.AcquireResponse:
            q = self._quota(p)
            self.quotas.check_request(q, request.key, request.metadata)
            scoped = pb.AcquireRequest()
            scoped.CopyFrom(request)
            scoped.key = self.tenancy.key(p, request.key)
            if request.session_id:
                scoped.session_id = self.tenancy.unwrap_session(p, request.session_id)
            self.quotas.take_acquire(p.tenant, q)
            waits = request.wait.seconds > 0 or request.wait.nanos > 0
            if request.key:
                await self.quotas.check_store(self.manager.store, self.tenancy.prefix(p), q,
                                              waits, time.monotonic() + budget(left))
            resp = await LockRpcs.Acquire(self, scoped, left)
            if resp.WhichOneof("result") == "lease":
                resp.lease.key = request.key
                resp.lease.session_id = self.tenancy.wrap_session(p, resp.lease.session_id)
                record("grant", p, "Acquire", key=request.key,
                       fencing_token=resp.lease.fencing_token, owner=request.owner)
            else:
                resp.busy.message = resp.busy.message.replace(scoped.key, request.key, 1)
                resp.busy.key = request.key
            return resp
        return await self._guard("Acquire", run)

    async def KeepAlive(self, request: pb.KeepAliveRequest, left: Left) -> pb.KeepAliveResponse:
        async def run(p: Principal) -> pb.KeepAliveResponse:
            scoped = pb.KeepAliveRequest()
            scoped.CopyFrom(request)
            if request.WhichOneof("target") == "session_id":
                scoped.session_id = self.tenancy.unwrap_session(p, request.session_id)
            else:
                self.tenancy.check_lease_token(p, request.lease_token)
                self.quotas.check_request(self._quota(p), None, request.metadata)
            resp = await LockRpcs.KeepAlive(self, scoped, left)
            if scoped.WhichOneof("target") == "session_id":
                self.quotas.session_alive(p.tenant, scoped.session_id, resp.ttl.seconds)
            return resp
        return await self._guard("KeepAlive", run)

    async def Release(self, request: pb.ReleaseRequest, left: Left) -> pb.ReleaseResponse:
        async def run(p: Principal) -> pb.ReleaseResponse:
            self.tenancy.check_lease_token(p, request.lease_token)
            resp = await LockRpcs.Release(self, request, left)
            key = self.tenancy.strip(p, tokens.decode_lease(request.lease_token).key)
            record("release", p, "Release", key=key, released=resp.released)
            return resp
        return await self._guard("Release", run)

    # Sessions -------------------------------------------------------------------------------
    async def OpenSession(self, request: pb.OpenSessionRequest,
                          left: Left) -> pb.OpenSessionResponse:
        async def run(p: Principal) -> pb.OpenSessionResponse:
            self.quotas.check_session(p.tenant, self._quota(p))
            resp = await LockRpcs.OpenSession(self, request, left)
            self.quotas.session_alive(p.tenant, resp.session_id, resp.ttl.seconds)
            resp.session_id = self.tenancy.wrap_session(p, resp.session_id)
            record("session_open", p, "OpenSession", owner=request.owner)
            return resp
        return await self._guard("OpenSession", run)

    async def CloseSession(self, request: pb.CloseSessionRequest,
                           left: Left) -> pb.CloseSessionResponse:
        async def run(p: Principal) -> pb.CloseSessionResponse:
            inner = self.tenancy.unwrap_session(p, request.session_id)
            resp = await LockRpcs.CloseSession(self, pb.CloseSessionRequest(session_id=inner),
                                               left)
            self.quotas.session_closed(p.tenant, inner)
            record("session_close", p, "CloseSession", closed=resp.closed)
            return resp
        return await self._guard("CloseSession", run)

    # Status and admin -----------------------------------------------------------------------
    async def Status(self, request: pb.StatusRequest, left: Left) -> pb.StatusResponse:
        async def run(p: Principal) -> pb.StatusResponse:
            if p.role == "admin":  # across tenants: keys as stored, "<tenant>/<key>"
                return await LockRpcs.Status(self, request, left)
            scoped = pb.StatusRequest()
            scoped.CopyFrom(request)
            if request.WhichOneof("selector") == "key":
                scoped.key = self.tenancy.key(p, request.key)
            else:  # a prefix, or nothing: everything of the tenant
                scoped.prefix = self.tenancy.prefix(p) + request.prefix
            resp = await LockRpcs.Status(self, scoped, left)
            for state in resp.locks:
                state.key = self.tenancy.strip(p, state.key)
            return resp
        return await self._guard("Status", run)

    async def Watch(self, request: pb.WatchRequest) -> AsyncIterator[pb.WatchResponse]:
        p = await self._guard("Watch", self._principal)
        prefix, exact = selector(request)
        if p.role == "admin":  # across tenants, keys as stored, as in Status
            async for e in watch(self._hub(), prefix, exact, request.cursor):
                yield e
            return
        scoped = self.tenancy.key(p, prefix) if exact else self.tenancy.prefix(p) + prefix
        async for e in watch(self._hub(), scoped, exact, request.cursor,
                             lambda key: self.tenancy.strip(p, key)):
            yield e

    async def _principal(self, p: Principal) -> Principal:
        return p

    async def ForceRelease(self, request: pb.ForceReleaseRequest,
                           left: Left) -> pb.ForceReleaseResponse:
        async def run(p: Principal) -> pb.ForceReleaseResponse:
            check_text("key", request.key, 447)
            check_text("reason", request.reason, 1024)
            if not valid_tenant(request.tenant):
                raise InvalidArgument("tenant", "must be a tenant name (1-63 of a-z 0-9 . _ -)")
            stored = f"{request.tenant}/{request.key}"
            deadline = time.monotonic() + budget(left)
            groups, _ = await self.manager.store.scan(stored, True, "", 1, deadline)
            if not groups:
                raise NotFound(f"key: {request.key!r} of tenant {request.tenant!r} is not "
                               "held; nothing was changed")
            holder = groups[0][0]
            token = tokens.encode_lease(tokens.LeaseRef(
                holder.key, holder.uid, holder.lease, holder.revision,
                holder.lease == holder.entry.session))
            released = await self.manager.release(token, budget(left))
            record("force_release", p, "ForceRelease", target_tenant=request.tenant,
                   key=request.key, owner=holder.entry.owner,
                   fencing_token=holder.revision, reason=request.reason, released=released)
            return pb.ForceReleaseResponse(released=released, owner=holder.entry.owner,
                                           fencing_token=holder.revision)
        return await self._guard("ForceRelease", run)
