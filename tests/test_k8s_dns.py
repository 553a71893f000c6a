"""tests/k8s_dns.py, the real node's cluster DNS (scripts/k8s-e2e.sh): the records it derives
from Services and EndpointSlices are the ones CoreDNS's kubernetes plugin serves for them, and
its answers are well-formed DNS (checked by parsing them back)."""

from __future__ import annotations

import socket
import struct

from k8s_dns import AAAA, NXDOMAIN, A, answer, parse_query, records

DOMAIN = "cluster.local"
SERVICES = [
    {"metadata": {"namespace": "v", "name": "etcd-peer"}, "spec": {"clusterIP": "None"}},
    {"metadata": {"namespace": "v", "name": "etcd"}, "spec": {"clusterIP": "10.96.0.9"}},
    {"metadata": {"namespace": "v", "name": "no-ip"}, "spec": {"type": "ExternalName"}},
]


def _slice(service: str, endpoints: list[dict[str, object]]) -> dict[str, object]:
    return {"metadata": {"namespace": "v", "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4", "endpoints": endpoints}


SLICES = [
    _slice("etcd-peer", [
        {"addresses": ["10.214.0.5"], "hostname": "etcd-0", "conditions": {"ready": True}},
        {"addresses": ["10.214.0.6"], "hostname": "etcd-1", "conditions": {"ready": False}},
        {"addresses": ["10.214.0.7"], "hostname": "etcd-2", "conditions": {}},
    ]),
    # Endpoints of a Service with a cluster IP get no names of their own.
    _slice("etcd", [{"addresses": ["10.214.0.5"], "hostname": "etcd-0",
                     "conditions": {"ready": True}}]),
]


OPT = b"\0" + struct.pack("!HHIH", 41, 4096, 0, 0)  # EDNS0, as Go's and c-ares' resolvers send


def query(name: str, qtype: int = A, ident: int = 0x1234) -> tuple[bytes, bytes]:
    """(the query, its question section)."""
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    question = qname + struct.pack("!HH", qtype, 1)
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 1) + question + OPT, question


def parse_answer(data: bytes, question: bytes) -> tuple[int, int, list[str]]:
    """(id, rcode, A addresses) of a response to the query with this question."""
    ident, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", data[:12])
    assert flags & 0x8000 and flags & 0x0400, hex(flags)  # a response, authoritative
    assert (qd, ns, ar) == (1, 0, 0) and data[12:12 + len(question)] == question
    pos, ips = 12 + len(question), []
    for _ in range(an):
        ptr, rtype, rclass, ttl, rdlen = struct.unpack("!HHHIH", data[pos:pos + 12])
        assert (ptr, rtype, rclass, rdlen) == (0xC00C, A, 1, 4) and ttl > 0
        ips.append(socket.inet_ntoa(data[pos + 12:pos + 16]))
        pos += 16
    assert pos == len(data)
    return ident, flags & 0xF, ips


def test_records_follow_services_and_endpoint_slices() -> None:
    table = records(SERVICES, SLICES, DOMAIN)
    assert table == {
        "etcd-peer.v.svc.cluster.local": ["10.214.0.5", "10.214.0.7"],
        "etcd-0.etcd-peer.v.svc.cluster.local": ["10.214.0.5"],
        "etcd-2.etcd-peer.v.svc.cluster.local": ["10.214.0.7"],
        "etcd.v.svc.cluster.local": ["10.96.0.9"],
    }


def test_answers() -> None:
    table = records(SERVICES, SLICES, DOMAIN)
    q, question = query("ETCD-0.etcd-peer.v.svc.cluster.local")  # case-insensitive
    assert parse_answer(answer(q, table), question) == (0x1234, 0, ["10.214.0.5"])
    q, question = query("etcd-peer.v.svc.cluster.local")
    assert parse_answer(answer(q, table), question)[1:] == (0, ["10.214.0.5", "10.214.0.7"])
    # A known name asked for another type: no error, no answer (what a resolver's AAAA gets).
    q, question = query("etcd-0.etcd-peer.v.svc.cluster.local", AAAA)
    assert parse_answer(answer(q, table), question)[1:] == (0, [])
    # A search-list expansion of a name, or anything else: NXDOMAIN, nothing forwarded.
    q, question = query("etcd-0.etcd-peer.v.svc.cluster.local.v.svc.cluster.local", ident=7)
    assert parse_answer(answer(q, table), question) == (7, NXDOMAIN, [])
    q, question = query("example.com")
    assert parse_answer(answer(q, table), question)[1:] == (NXDOMAIN, [])


def test_parse_query_refuses_garbage() -> None:
    assert parse_query(query("a.b")[0])[2:5] == ("a.b", A, 1)
    bad = answer(b"\x12\x34\x00", {})
    assert struct.unpack("!HH", bad[:4]) == (0x1234, 0x8001)  # FORMERR, same id
