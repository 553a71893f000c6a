"""Authentication, tenants, roles, quotas and the audit log; on only with --auth-file.

    policy.py      the auth file's schema (API keys, JWT issuers, mTLS identities, quotas)
    verify.py      credential -> Principal (tenant, role, identity): the one check
    faces.py       the gRPC interceptor and the HTTP face's hook that call it
    tenancy.py     roles, tenant key prefixes, tenant-bound session ids, the audit log
    quotas.py      per-tenant quotas, checked before anything is changed
    rpcs.py        GuardedRpcs: LockRpcs scoped to the caller's tenant
    reload.py      reload on file change and SIGHUP
"""
