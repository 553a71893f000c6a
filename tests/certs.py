"""Test certificates, made by the ``openssl`` command line tool: a fresh CA and, signed by it,
a server certificate (for IP:127.0.0.1 and DNS:localhost) and a client certificate.

    pki = make_pki(tmp_path / "pki")   # pki.server / pki.client: TlsFiles(ca, cert, key)
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

from etcd_server import TlsFiles

# A minimal config so that `openssl req` reads nothing from the system's openssl.cnf.
_REQ_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""

# clientAuth too: with --client-cert-auth, etcd's own gRPC gateway dials etcd with this
# certificate (and logs "tls: bad certificate" on every start without it).
_SERVER_EXT = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

_CLIENT_EXT = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


@dataclasses.dataclass(frozen=True)
class Pki:
    server: TlsFiles
    client: TlsFiles


def _openssl(*args: str | Path) -> None:
    binary = shutil.which("openssl")
    if binary is None:
        raise RuntimeError("these tests make their certificates with the openssl CLI: install "
                           "it (Debian/Ubuntu: apt-get install openssl)")
    proc = subprocess.run([binary, *map(str, args)], capture_output=True, text=True,
                          timeout=60, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                           f"{proc.stdout}{proc.stderr}")


def make_pki(out: Path) -> Pki:
    """A fresh CA (EC P-256) and, signed by it, a server and a client certificate."""
    out.mkdir(parents=True, exist_ok=True)
    config = out / "req.cnf"
    config.write_text(_REQ_CONFIG)
    ca, ca_key = out / "ca.pem", out / "ca.key"
    newkey = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *newkey, "-config", config, "-extensions", "v3_ca",
             "-subj", "/CN=threadlock test CA", "-days", "2", "-keyout", ca_key, "-out", ca)

    def leaf(name: str, subject: str, extensions: str, serial: int) -> TlsFiles:
        key, csr, cert, ext = (out / f"{name}{s}" for s in (".key", ".csr", ".pem", ".ext"))
        ext.write_text(extensions)
        _openssl("req", "-new", *newkey, "-config", config, "-subj", subject,
                 "-keyout", key, "-out", csr)
        _openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                 "-set_serial", str(serial), "-days", "2", "-sha256", "-extfile", ext,
                 "-out", cert)
        return TlsFiles(ca=ca, cert=cert, key=key)

    return Pki(server=leaf("server", "/CN=localhost", _SERVER_EXT, 2),
               client=leaf("client", "/CN=threadlock test client", _CLIENT_EXT, 3))
