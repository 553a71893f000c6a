"""The chaos suite (issue 14): faults under load on a 3-member etcd 3.6 cluster (etcd_cluster
fixture), 2 coordinator replicas, 3 SDK worker processes x 4 threads on 4 keys, a resource
that rejects lower fencing tokens, and an overlap checker over the holds (tests/chaos/).

Every scenario asserts: 0 overlapping holds, fencing tokens strictly increasing per key, no
write rejected by the resource, no `Conflict` reaching a worker, and that grants resume. The
longest pause without a grant after the fault (time to recover) is printed and, with
THREADLOCK_CHAOS_RESULTS=<file>, appended to that file as JSON (the README's table):

    ./scripts/test.sh tests/test_chaos.py -s
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from chaos.analysis import Report
from chaos.run import Chaos
from etcd_cluster import EtcdCluster

from threadlock.internal.etcd import rpc_pb2, rpc_pb2_grpc
from threadlock_client import LeaseLost, LockClient, errors

TTL = 2.0
WARM_HOLDS = 20  # the fault comes once the workers have made this many holds
AFTER = 10.0  # seconds of load after the fault (or after its repair, where it has one)
CAP = 300.0  # the workers' own time limit, should a test never stop them


@pytest.fixture
def chaos(etcd_cluster: EtcdCluster, tmp_path: Path) -> Iterator[Chaos]:
    c = Chaos(tmp_path / "chaos", etcd_cluster.endpoints, ttl=TTL)
    try:
        yield c.start()
    finally:
        c.close()


def record(scenario: str, report: Report, fault: float, until: float, **extra: object) -> float:
    """Print (and keep, see the module doc) the scenario's figures; the recovery time."""
    gap = report.longest_gap(fault, until)
    figures = {"scenario": scenario, "recovery_s": round(gap, 2), "holds": report.holds,
               "overlaps": len(report.overlaps), "out_of_order": len(report.out_of_order),
               "lost": report.lost, "errors": dict(report.errors), **extra}
    print(f"\nchaos {json.dumps(figures)}")
    results = os.environ.get("THREADLOCK_CHAOS_RESULTS")
    if results:
        with open(results, "a") as f:
            f.write(json.dumps(figures) + "\n")
    return gap


def check(report: Report, fault: float, until: float) -> None:
    report.assert_safe()
    assert report.errors["Conflict"] == 0, report.error_samples.get("Conflict")
    assert report.grants_between(0, fault) > 10, f"no load before the fault: {report.summary()}"
    assert report.grants_between(fault, until) > 10, f"grants did not resume: {report.summary()}"


def test_etcd_leader_sigkill(etcd_cluster: EtcdCluster, chaos: Chaos) -> None:
    """SIGKILL the etcd leader under load: a new leader is elected and grants resume on the
    two members left (measured); the killed member rejoins and the members' hashes agree."""
    chaos.start_workers(CAP)
    chaos.wait_holds(WARM_HOLDS)
    leader = etcd_cluster.leader()
    fault = time.monotonic()
    etcd_cluster.kill(leader)
    successor = etcd_cluster.leader()
    assert successor is not leader
    time.sleep(5.0)  # served by 2 of 3 members meanwhile
    rejoined_at = time.monotonic()
    etcd_cluster.restart(leader)
    until = chaos.finish(fault + AFTER)
    report = chaos.report()
    record("etcd leader SIGKILL", report, fault, until)
    check(report, fault, until)
    assert report.grants_between(fault, rejoined_at) > 0, "nothing granted on 2 of 3 members"
    hashes = etcd_cluster.hashkv()
    assert len(set(hashes.values())) == 1, f"members disagree: {hashes}"


def test_replica_sigkill_while_a_lock_is_held(chaos: Chaos) -> None:
    """SIGKILL the coordinator replica a holder talks to while it holds a lock: the hold
    survives (renewed through the other replica for 3 TTLs) and keeps its fencing token."""
    first, second = chaos.replicas
    chaos.start_workers(CAP)
    chaos.wait_holds(WARM_HOLDS)
    with LockClient([first.address, second.address], call_timeout=5.0) as client:
        lease = client.acquire("conv_held", ttl=TTL, wait=5.0)
        fault = time.monotonic()
        chaos.kill_replica(first)
        assert not lease.wait_lost(3 * TTL), lease.lost_reason
        lease.check()
        states = client.status("conv_held")  # answered by the surviving replica
        assert states and states[0].holder.fencing_token == lease.fencing_token
        assert lease.release()
    until = chaos.finish(fault + AFTER)
    report = chaos.report()
    record("coordinator replica SIGKILL (lock held)", report, fault, until)
    check(report, fault, until)


def test_etcd_paused_longer_than_a_ttl(etcd_cluster: EtcdCluster, chaos: Chaos) -> None:
    """SIGSTOP every etcd member for 2 TTLs, then SIGCONT: a holder learns of its loss
    before its TTL runs out (it cannot renew), nothing is granted twice, grants resume."""
    chaos.start_workers(CAP)
    chaos.wait_holds(WARM_HOLDS)
    with LockClient([r.address for r in chaos.replicas], call_timeout=5.0) as client:
        lease = client.acquire("conv_paused", ttl=TTL, wait=5.0)
        fault = time.monotonic()
        for m in etcd_cluster.members:
            etcd_cluster.pause(m)
        try:
            assert lease.wait_lost(TTL + 10), "the holder never learned it lost its lease"
            learned = time.monotonic() - fault
            time.sleep(max(2 * TTL - (time.monotonic() - fault), 0))
        finally:
            for m in etcd_cluster.members:
                etcd_cluster.resume(m)
        with pytest.raises(LeaseLost):
            lease.check()
    until = chaos.finish(fault + AFTER)
    report = chaos.report()
    record("etcd SIGSTOP 2 TTLs / SIGCONT", report, fault, until,
           holder_learned_s=round(learned, 2))
    check(report, fault, until)


QUOTA = 8 * 1024 * 1024
FILLER = b"x" * (512 * 1024)


def fill(cluster: EtcdCluster) -> str:
    """Put big values under a key of our own until etcd refuses: the NOSPACE alarm."""
    with grpc.insecure_channel(cluster.members[0].endpoint) as channel:
        kv = rpc_pb2_grpc.KVStub(channel)
        for i in range(4 * QUOTA // len(FILLER)):  # bounded: far more than the quota
            try:
                kv.Put(rpc_pb2.PutRequest(key=f"/filler/{i}".encode(), value=FILLER),
                       timeout=10)
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, exc
                return str(exc.details())
        raise AssertionError("etcd took 4x its quota without a NOSPACE alarm")


@pytest.mark.parametrize("etcd_cluster", [QUOTA], indirect=True)
def test_etcd_nospace_alarm(etcd_cluster: EtcdCluster, chaos: Chaos) -> None:
    """Fill etcd past --quota-backend-bytes under load: the NOSPACE alarm. Acquires fail with
    a clear error, nothing is granted twice; after the operator's recipe (delete, compact,
    defragment, disarm) grants resume (recovery measured from the disarm)."""
    chaos.start_workers(CAP)
    chaos.wait_holds(WARM_HOLDS)
    fault = time.monotonic()
    refusal = fill(etcd_cluster)
    assert "NOSPACE" in etcd_cluster.alarms()
    time.sleep(3)
    with (LockClient([r.address for r in chaos.replicas], call_timeout=5.0) as client,
          pytest.raises(errors.CoordinatorError) as refused):
        client.acquire("conv_nospace", ttl=TTL, wait=0)
    with grpc.insecure_channel(etcd_cluster.members[0].endpoint) as channel:
        rpc_pb2_grpc.KVStub(channel).DeleteRange(
            rpc_pb2.DeleteRangeRequest(key=b"/filler/", range_end=b"/filler0"), timeout=10)
    etcd_cluster.recover_space()
    disarmed = time.monotonic()
    assert etcd_cluster.alarms() == ""
    until = chaos.finish(disarmed + AFTER)
    report = chaos.report()
    record("etcd NOSPACE alarm, recovered", report, disarmed, until,
           alarm_s=round(disarmed - fault, 1), etcd_error=refusal,
           sdk_error=f"{type(refused.value).__name__}: {refused.value.code.name}: "
           f"{refused.value.details}")
    check(report, disarmed, until)
    assert report.errors, "nothing failed while etcd had no space"


def wait_skew(chaos: Chaos, seconds: float) -> None:
    """Until every coordinator's clock reads `seconds` off ours: the expiry it reports for
    conv_clock (its wall clock + the TTL left) is that far from our clock."""
    for r in chaos.replicas:
        with LockClient([r.address], call_timeout=5.0) as one:
            deadline = time.monotonic() + 20
            while True:
                holder = one.status("conv_clock")[0].holder
                if abs(holder.expires_at.ToSeconds() - time.time() - seconds) < TTL + 5:
                    break
                assert time.monotonic() < deadline, f"{r.address} did not step by {seconds}s"
                time.sleep(0.1)


def test_clock_step_on_the_coordinator_host(etcd_cluster: EtcdCluster, tmp_path: Path) -> None:
    """The coordinators' wall clock steps an hour forward, then two hours back (simulated
    in-process: tests/chaos/stepped_serve.py shifts time.time; CLOCK_MONOTONIC and the real
    clock are untouched). Leases live on etcd's monotonic TTLs, so no hold is lost or doubled;
    a lock held across both steps survives."""
    serve = [sys.executable, str(Path(__file__).parent / "chaos" / "stepped_serve.py")]
    chaos = Chaos(tmp_path / "chaos", etcd_cluster.endpoints, ttl=TTL, serve_argv=serve)
    try:
        chaos.start()
        chaos.start_workers(CAP)
        chaos.wait_holds(WARM_HOLDS)
        with LockClient([r.address for r in chaos.replicas], call_timeout=5.0) as client:
            lease = client.acquire("conv_clock", ttl=TTL, wait=5.0)
            fault = time.monotonic()
            for r in chaos.replicas:
                os.kill(r.pid, signal.SIGUSR1)  # +1 h
            wait_skew(chaos, +3600)
            assert not lease.wait_lost(1.5 * TTL), lease.lost_reason
            for skew in (0, -3600):  # back to real time, then an hour behind it (one
                for r in chaos.replicas:  # signal at a time: pending ones would merge)
                    os.kill(r.pid, signal.SIGUSR2)
                wait_skew(chaos, skew)
            assert not lease.wait_lost(1.5 * TTL), lease.lost_reason
            assert lease.release()
        until = chaos.finish(fault + AFTER)
        report = chaos.report()
    finally:
        chaos.close()
    record("coordinator wall clock +1 h, then -2 h", report, fault, until)
    check(report, fault, until)
    assert report.lost == 0, f"a clock step cost a hold its lease: {report.summary()}"


@pytest.fixture
def namespaces() -> Iterator[tuple[str, str, str, str]]:
    """Network namespaces A and B of this test's own, joined by one veth pair whose private
    addresses exist only inside them (nothing is added to this host's namespace). Yields
    (A, B, B's veth device, A's address); deleted at the end (with what still runs in them)."""
    tag = uuid.uuid4().hex[:6]
    ns_a, ns_b, dev_a, dev_b = f"tlc{tag}a", f"tlc{tag}b", f"tl{tag}a", f"tl{tag}b"
    host_a, host_b = "10.231.0.1", "10.231.0.2"

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, timeout=30, capture_output=True)

    ip("netns", "add", ns_a)
    try:
        ip("netns", "add", ns_b)
        ip("-n", ns_a, "link", "add", dev_a, "type", "veth", "peer", "name", dev_b,
           "netns", ns_b)
        ip("-n", ns_a, "addr", "add", f"{host_a}/24", "dev", dev_a)
        ip("-n", ns_b, "addr", "add", f"{host_b}/24", "dev", dev_b)
        for ns, dev in ((ns_a, dev_a), (ns_b, dev_b)):
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", dev, "up")
        yield ns_a, ns_b, dev_b, host_a
    finally:
        for ns in (ns_a, ns_b):
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                                  text=True, timeout=30).stdout.split()
            for pid in pids:  # only what this test started in its own namespaces
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


def test_etcd_leader_partitioned_away(namespaces: tuple[str, str, str, str],
                                      tmp_path: Path) -> None:
    """The etcd leader (m2, alone in namespace B) is cut off by taking its veth down for
    10 s, then healed (tests/chaos/partition.py runs everything else in namespace A): the
    other two elect a leader and grants go on; nothing is granted twice; m2 rejoins with the
    same data."""
    ns_a, ns_b, dev_b, host_a = namespaces
    # Cut for 10 s: a coordinator whose etcd client sits on the cut member resumes after
    # ~4.5 s (measured), so grants must also go on while it is cut.
    cfg = {"tmp": str(tmp_path / "partition"), "cap": CAP, "warm_holds": WARM_HOLDS,
           "after": AFTER, "ttl": TTL, "cut_for": 10.0,
           "ns_b": ns_b, "dev_b": dev_b, "host_a": host_a, "host_b": "10.231.0.2"}
    out = tmp_path / "summary.json"
    done = subprocess.run(
        ["ip", "netns", "exec", ns_a, sys.executable,
         str(Path(__file__).parent / "chaos" / "partition.py"), json.dumps(cfg), str(out)],
        capture_output=True, text=True, timeout=CAP + 60, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    s = json.loads(out.read_text())
    print(f"\nchaos {json.dumps({'scenario': 'etcd leader partitioned (netns)', **s})}")
    results = os.environ.get("THREADLOCK_CHAOS_RESULTS")
    if results:
        with open(results, "a") as f:
            f.write(json.dumps({"scenario": "etcd leader partitioned (netns)", **s}) + "\n")
    assert s["leader_before"] == "m2" and s["leader_during"] in ("m0", "m1"), s
    assert s["overlaps"] == 0 and s["out_of_order"] == 0 and s["rejected"] == 0, s["summary"]
    assert s["errors"].get("Conflict", 0) == 0, s["error_samples"]
    assert s["grants_before"] > 10 and s["grants_during"] > 0 and s["grants_after"] > 10, s
    assert len(set(s["hashkv"].values())) == 1 and len(s["hashkv"]) == 3, s["hashkv"]
