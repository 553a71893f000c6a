"""The NOSPACE alarm answers a clear error at once (issue 14: "clear errors"): etcd's
RESOURCE_EXHAUSTED "mvcc: database space exceeded" used to be retried as transient until the
call's deadline (DEADLINE_EXCEEDED "Deadline Exceeded", which says nothing about space); it is
now RESOURCE_EXHAUSTED naming the alarm. The safety and recovery side of NOSPACE is
tests/test_chaos.py::test_etcd_nospace_alarm."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from chaos.run import Chaos
from etcd_cluster import EtcdCluster
from test_chaos import QUOTA, fill

from threadlock_client import LockClient, errors


@pytest.fixture
def one_replica(etcd_cluster: EtcdCluster, tmp_path: Path) -> Iterator[Chaos]:
    c = Chaos(tmp_path / "chaos", etcd_cluster.endpoints, replicas=1)
    try:
        yield c.start()
    finally:
        c.close()


@pytest.mark.parametrize("etcd_cluster", [QUOTA], indirect=True)
def test_nospace_answers_a_clear_error(etcd_cluster: EtcdCluster, one_replica: Chaos) -> None:
    fill(etcd_cluster)
    assert "NOSPACE" in etcd_cluster.alarms()
    started = time.monotonic()
    with (LockClient([one_replica.replicas[0].address], call_timeout=10.0) as client,
          pytest.raises(errors.CoordinatorError) as refused):
        client.acquire("conv_nospace", ttl=2.0, wait=0)
    assert refused.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED, refused.value
    assert "NOSPACE" in refused.value.details, refused.value
    assert time.monotonic() - started < 9, "answered at once, not after the call's deadline"
    assert "space" in refused.value.details.lower(), refused.value
