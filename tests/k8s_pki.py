"""Certificates for the test control plane (tests/k8s_cluster.py), made with `cryptography`: one
CA that signs the apiserver's serving certificate and each client's certificate, whose subject
is the identity RBAC sees (CN = user, O = groups), and the service-account signing key.

    pki = make_k8s_pki(tmp_path / "pki")
    pki.clients["admin"]    # TlsFiles(ca, cert, key) of a system:masters user
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from etcd_server import TlsFiles

# user -> (common name, organizations): the identities the components run as. The controller
# manager and scheduler get their own (the roles Kubernetes bootstraps for them), not masters.
CLIENTS: dict[str, tuple[str, list[str]]] = {
    "admin": ("threadlock-test-admin", ["system:masters"]),
    "controller-manager": ("system:kube-controller-manager", []),
    "scheduler": ("system:kube-scheduler", []),
    # KWOK writes node and pod status for every fake node: it acts as the cluster's kubelets.
    "kwok": ("kwok-controller", ["system:masters"]),
}
# The first address of the service range: the `kubernetes` Service's ClusterIP.
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"


@dataclasses.dataclass(frozen=True)
class K8sPki:
    ca_key: Path
    server: TlsFiles
    clients: dict[str, TlsFiles]
    service_account_key: Path  # private (signs tokens); the public half is derived from it
    service_account_pub: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _name(cn: str, orgs: list[str]) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_k8s_pki(out: Path) -> K8sPki:
    out.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    valid = (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=2))

    ca_key = _key()
    ca_name = _name("threadlock test kubernetes CA", [])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(valid[0]).not_valid_after(valid[1])
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                            False), critical=True)
               .sign(ca_key, hashes.SHA256()))
    ca_pem = out / "ca.pem"
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_key(out / "ca.key", ca_key)

    def leaf(name: str, subject: x509.Name, usage: x509.ObjectIdentifier,
             sans: list[x509.GeneralName] | None = None) -> TlsFiles:
        key = _key()
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(valid[0]).not_valid_after(valid[1])
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                  critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = out / f"{name}.pem"
        cert.write_bytes(builder.sign(ca_key, hashes.SHA256())
                         .public_bytes(serialization.Encoding.PEM))
        _write_key(out / f"{name}.key", key)
        return TlsFiles(ca=ca_pem, cert=cert, key=out / f"{name}.key")

    server = leaf("apiserver", _name("kube-apiserver", []), ExtendedKeyUsageOID.SERVER_AUTH, [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address(KUBERNETES_SERVICE_IP)),
        x509.DNSName("localhost"), x509.DNSName("kubernetes"),
        x509.DNSName("kubernetes.default.svc"),
    ])
    clients = {user: leaf(user, _name(cn, orgs), ExtendedKeyUsageOID.CLIENT_AUTH)
               for user, (cn, orgs) in CLIENTS.items()}

    sa_key = _key()
    sa_path, sa_pub = out / "sa.key", out / "sa.pub"
    _write_key(sa_path, sa_key)
    sa_pub.write_bytes(sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return K8sPki(ca_key=out / "ca.key", server=server, clients=clients,
                  service_account_key=sa_path, service_account_pub=sa_pub)
