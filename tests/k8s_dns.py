"""Cluster DNS for the real node of scripts/k8s-e2e.sh: the A records the chart's bundled etcd
needs (`<pod>.<headless service>.<ns>.svc.<domain>` of a StatefulSet member, and
`<service>.<ns>.svc.<domain>`), answered from the apiserver's Services and EndpointSlices,
as CoreDNS's kubernetes plugin answers them.

Why not CoreDNS itself: it builds through the Go module proxy, but with every plugin of its
default set (the cloud DNS backends pull in their SDKs), which is minutes of compiling on
2 cores for two record shapes. This is the stdlib (no dependency) subset those two shapes
need: UDP, class IN, A records from the same objects CoreDNS reads; every other name is
NXDOMAIN and nothing is forwarded anywhere (no traffic leaves the test's network namespace).

    python tests/k8s_dns.py --listen 10.213.0.2:53 --server https://127.0.0.1:6443 \\
        --ca ca.pem --cert admin.pem --key admin.key [--domain cluster.local]
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys
import threading
import time
from pathlib import Path

from etcd_server import TlsFiles
from k8s_api import KubeApi, Obj

TTL = 5  # seconds, CoreDNS's kubernetes plugin default: a recreated pod's new IP shows soon
REFRESH = 0.5  # seconds between reads of the apiserver
A, AAAA, IN = 1, 28, 1
NOERROR, FORMERR, NXDOMAIN, NOTIMP = 0, 1, 3, 4


def records(services: list[Obj], slices: list[Obj], domain: str) -> dict[str, list[str]]:
    """name (lower case, no trailing dot) -> IPv4 addresses.

    A Service with a cluster IP answers with it; a headless one with its ready endpoints'
    addresses (the EndpointSlice controller marks them ready regardless of the pods when the
    Service has publishNotReadyAddresses, as the etcd peer Service does), and each endpoint
    with a hostname (a StatefulSet pod of the Service's serviceName) gets its own name."""
    found: dict[str, list[str]] = {}
    headless: set[tuple[str, str]] = set()
    for svc in services:
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        ip = svc["spec"].get("clusterIP")
        if ip == "None":
            headless.add((ns, name))
            found.setdefault(f"{name}.{ns}.svc.{domain}", [])
        elif ip:
            found[f"{name}.{ns}.svc.{domain}"] = [ip]
    for sl in slices:
        if sl.get("addressType") != "IPv4":
            continue
        ns = sl["metadata"]["namespace"]
        svc_name = sl["metadata"].get("labels", {}).get("kubernetes.io/service-name")
        if (ns, svc_name) not in headless:
            continue
        for ep in sl.get("endpoints") or []:
            if ep.get("conditions", {}).get("ready") is False:
                continue
            found[f"{svc_name}.{ns}.svc.{domain}"].extend(ep["addresses"])
            if ep.get("hostname"):
                found[f"{ep['hostname']}.{svc_name}.{ns}.svc.{domain}"] = list(ep["addresses"])
    return found


def parse_query(data: bytes) -> tuple[int, int, str, int, int, int]:
    """(id, flags, name, qtype, qclass, end of the question) of a one-question query."""
    ident, flags, qdcount = struct.unpack("!HHH", data[:6])
    if qdcount != 1:
        raise ValueError(f"{qdcount} questions")
    labels: list[str] = []
    pos = 12
    while True:
        length = data[pos]
        if length & 0xC0:
            raise ValueError("compressed name in a question")
        pos += 1
        if length == 0:
            break
        labels.append(data[pos:pos + length].decode("ascii").lower())
        pos += length
    qtype, qclass = struct.unpack("!HH", data[pos:pos + 4])
    return ident, flags, ".".join(labels), qtype, qclass, pos + 4


def answer(data: bytes, table: dict[str, list[str]]) -> bytes:
    """The response to one query: authoritative, no recursion offered."""
    try:
        ident, flags, name, qtype, qclass, end = parse_query(data)
    except (ValueError, IndexError, UnicodeDecodeError, struct.error):
        ident = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 0
        return struct.pack("!HHHHHH", ident, 0x8000 | FORMERR, 0, 0, 0, 0)
    opcode = (flags >> 11) & 0xF
    addresses = table.get(name)
    if opcode != 0:
        rcode, addresses = NOTIMP, None
    elif addresses is None:
        rcode = NXDOMAIN
    else:
        rcode = NOERROR
    # QR, the query's opcode and RD, AA (we are the zone's authority), RA off.
    out_flags = 0x8000 | (opcode << 11) | 0x0400 | (flags & 0x0100) | rcode
    answers = addresses if addresses and qtype == A and qclass == IN else []
    head = struct.pack("!HHHHHH", ident, out_flags, 1, len(answers), 0, 0)
    body = b"".join(struct.pack("!HHHIH", 0xC00C, A, IN, TTL, 4) + socket.inet_aton(ip)
                    for ip in answers)
    return head + data[12:end] + body


class ClusterDns:
    def __init__(self, api: KubeApi, domain: str) -> None:
        self.api, self.domain = api, domain
        self.table: dict[str, list[str]] = {}
        self.loaded = threading.Event()

    def refresh_forever(self) -> None:
        while True:
            try:
                self.table = records(
                    self.api.items("/api/v1/services"),
                    self.api.items("/apis/discovery.k8s.io/v1/endpointslices"), self.domain)
                self.loaded.set()
            except Exception as e:  # keep serving the last table; say why
                print(f"k8s-dns: refresh failed: {e}", file=sys.stderr, flush=True)
            time.sleep(REFRESH)

    def serve(self, host: str, port: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((host, port))
        threading.Thread(target=self.refresh_forever, daemon=True).start()
        self.loaded.wait(30)
        print(f"k8s-dns: serving {self.domain} on {host}:{port}", flush=True)
        while True:
            data, peer = sock.recvfrom(4096)
            sock.sendto(answer(data, self.table), peer)


def main() -> None:
    p = argparse.ArgumentParser(description="Cluster DNS for the real node of k8s-e2e.sh")
    p.add_argument("--listen", required=True, help="host:port (UDP)")
    p.add_argument("--server", required=True, help="the apiserver's URL")
    p.add_argument("--ca", type=Path, required=True)
    p.add_argument("--cert", type=Path, required=True)
    p.add_argument("--key", type=Path, required=True)
    p.add_argument("--domain", default="cluster.local")
    args = p.parse_args()
    host, _, port = args.listen.rpartition(":")
    api = KubeApi(args.server, TlsFiles(ca=args.ca, cert=args.cert, key=args.key))
    ClusterDns(api, args.domain.strip(".").lower()).serve(host, int(port))


if __name__ == "__main__":
    main()
