"""The shared etcd lease keepalive stream: one caller that gives up early must not break
renewals for everyone else on the replica."""

from __future__ import annotations

import asyncio
import time

import pytest
from etcd_server import EtcdServer

from threadlock.errors import Unavailable
from threadlock.etcd.store import EtcdStore

pytestmark = pytest.mark.asyncio


async def test_an_impatient_renewal_does_not_fail_the_others(etcd: EtcdServer,
                                                             key_prefix: str) -> None:
    store = await EtcdStore.connect([etcd.endpoint], key_prefix, None, 5.0)
    try:
        lease = await store.grant(30, time.monotonic() + 5)
        failures = 0
        impatient = 0
        for _ in range(50):
            results = await asyncio.gather(
                store.renew(lease, time.monotonic() + 0.0005),
                *(store.renew(lease, time.monotonic() + 5) for _ in range(3)),
                return_exceptions=True)
            impatient += isinstance(results[0], Unavailable)
            failures += sum(not isinstance(r, int) or r <= 0 for r in results[1:])
        assert failures == 0
        assert impatient > 0  # the impatient ones did time out: the test exercised the path
    finally:
        await store.close()
