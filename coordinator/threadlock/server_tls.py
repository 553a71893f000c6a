"""Start-up checks of the coordinator's own TLS files, and the error for what an operator
must fix before the server can start (a port in use, an unreadable or mismatched key)."""

from __future__ import annotations

import ssl

import grpc

from threadlock.config import ServerTls


class StartupError(RuntimeError):
    """The server cannot start for a reason the operator must fix (e.g. the port is taken)."""


class _EncryptedKey(Exception):
    pass


def _no_password() -> bytes:
    raise _EncryptedKey


def server_credentials(tls: ServerTls) -> grpc.ServerCredentials:
    """gRPC credentials from `tls`'s files, checked first so that a wrong file fails start-up
    with a StartupError naming the option (gRPC itself only says "failed to bind")."""
    files = {"--tls-cert": tls.cert_file, "--tls-key": tls.key_file}
    if tls.client_ca_file is not None:
        files["--tls-client-ca"] = tls.client_ca_file
    data: dict[str, bytes] = {}
    for flag, path in files.items():
        try:
            with open(path, "rb") as f:
                data[flag] = f.read()
        except OSError as exc:
            raise StartupError(f"{flag}: cannot read {path}: {exc.strerror or exc}") from None
    # Python's ssl module reads the same PEM files; SECLEVEL=0 so that it only checks that they
    # parse and match, and refuses nothing (e.g. a small RSA key) that gRPC would accept.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    for flag in ("--tls-cert", "--tls-client-ca"):
        if flag in files:
            try:
                ctx.load_verify_locations(files[flag])
            except ssl.SSLError:
                raise StartupError(f"{flag}: no PEM certificate in {files[flag]}") from None
    try:
        ctx.load_cert_chain(tls.cert_file, tls.key_file, password=_no_password)
    except _EncryptedKey:
        raise StartupError(f"--tls-key: {tls.key_file} is encrypted; gRPC needs an "
                           "unencrypted key") from None
    except ssl.SSLError:
        raise StartupError(f"--tls-key: {tls.key_file} is not a PEM private key, or not the "
                           f"key of --tls-cert {tls.cert_file}") from None
    return grpc.ssl_server_credentials(
        [(data["--tls-key"], data["--tls-cert"])],
        root_certificates=data.get("--tls-client-ca"),
        require_client_auth=tls.client_ca_file is not None)
