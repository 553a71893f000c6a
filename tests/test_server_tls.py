"""The coordinator's own gRPC port over TLS (--tls-cert/--tls-key) and mutual TLS
(--tls-client-ca): locks are served to clients that verify the server (and, for mutual TLS,
present a certificate signed by the client CA); plaintext clients, clients that trust another
CA and, for mutual TLS, clients without a certificate are refused with UNAVAILABLE. The
`threadlock` CLI talks TLS with --tls-ca/--tls-cert/--tls-key (or THREADLOCK_TLS_CA,
THREADLOCK_TLS_CLIENT_CERT, THREADLOCK_TLS_CLIENT_KEY) to a `threadlock serve` configured by
THREADLOCK_TLS_* variables alone. Bad TLS options fail at start-up, naming the option.

The certificates are made by tests/certs.py (openssl): the server's is for IP:127.0.0.1.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import grpc.aio
import pytest
from certs import Pki, make_pki
from grpc_health.v1 import health_pb2, health_pb2_grpc
from harness import Coordinator, memory_config, rpc_error, wait_serving

from threadlock import cli
from threadlock import config as config_mod
from threadlock.config import Config, ServerTls
from threadlock.server import Server, StartupError
from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A second, unrelated CA with its own server and client certificates."""
    return make_pki(tmp_path_factory.mktemp("other-pki"))


def _tls(pki: Pki, *, mutual: bool = False) -> ServerTls:
    return ServerTls(cert_file=str(pki.server.cert), key_file=str(pki.server.key),
                     client_ca_file=str(pki.client.ca) if mutual else None)


def _tls_config(pki: Pki, *, mutual: bool = False) -> Config:
    return dataclasses.replace(memory_config(), tls=_tls(pki, mutual=mutual))


def _verify_only(pki: Pki) -> grpc.ChannelCredentials:
    """A TLS client that verifies the server with `pki`'s CA and has no certificate."""
    return grpc.ssl_channel_credentials(root_certificates=pki.server.ca.read_bytes())


async def _start(coordinators: list[Coordinator], config: Config,
                 credentials: grpc.ChannelCredentials | None) -> Coordinator:
    c = await Coordinator(config, channel_credentials=credentials).start()
    coordinators.append(c)
    return c


async def _locks_work(c: Coordinator) -> None:
    lease = await c.lease("conv_tls", "w1", ttl=10)
    busy = await c.acquire("conv_tls", "w2")
    assert busy.WhichOneof("result") == "busy", busy
    (state,) = await c.status("conv_tls")
    assert state.holder.owner == "w1"
    assert state.holder.fencing_token == lease.fencing_token
    assert await c.release(lease.lease_token)
    assert await c.status("conv_tls") == []
    assert c.channel is not None
    health = await health_pb2_grpc.HealthStub(c.channel).Check(
        health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.SERVING


async def _refused(address: str, credentials: grpc.ChannelCredentials | None) -> None:
    """A client with `credentials` (None: plaintext) gets UNAVAILABLE from `address`."""
    channel = (grpc.aio.insecure_channel(address) if credentials is None
               else grpc.aio.secure_channel(address, credentials))
    async with channel:
        stub = lock_pb2_grpc.LockServiceStub(channel)
        start = time.monotonic()
        err = await rpc_error(stub.Acquire(pb.AcquireRequest(key="conv_x", owner="intruder"),
                                           timeout=5))
        assert err.code() == grpc.StatusCode.UNAVAILABLE, err
        assert time.monotonic() - start < 5
        err = await rpc_error(stub.Status(pb.StatusRequest(prefix=""), timeout=5))
        assert err.code() == grpc.StatusCode.UNAVAILABLE, err


# --- in-process coordinators -----------------------------------------------------------------


async def test_tls_serves_locks_and_refuses_plaintext(
        pki: Pki, other_pki: Pki, coordinators: list[Coordinator]) -> None:
    c = await _start(coordinators, _tls_config(pki), _verify_only(pki))
    await _locks_work(c)
    # Without a client CA, a client certificate is not needed, but one does no harm.
    with_cert = await _start(coordinators, _tls_config(pki), pki.client.channel_credentials())
    await _locks_work(with_cert)

    await _refused(c.address, None)  # plaintext
    await _refused(c.address, _verify_only(other_pki))  # does not trust this server's CA
    await _locks_work(c)  # refused clients leave the server as it was


async def test_mutual_tls_needs_a_client_certificate(
        pki: Pki, other_pki: Pki, coordinators: list[Coordinator]) -> None:
    c = await _start(coordinators, _tls_config(pki, mutual=True),
                     pki.client.channel_credentials())
    await _locks_work(c)

    await _refused(c.address, _verify_only(pki))  # TLS, but no client certificate
    foreign = grpc.ssl_channel_credentials(  # a client certificate from another CA
        root_certificates=pki.server.ca.read_bytes(),
        private_key=other_pki.client.key.read_bytes(),
        certificate_chain=other_pki.client.cert.read_bytes())
    await _refused(c.address, foreign)
    await _refused(c.address, None)
    await _locks_work(c)


@pytest.mark.parametrize(("change", "flag"), [
    ({"cert_file": "key"}, "--tls-cert"),  # a key is not a certificate
    ({"key_file": "cert"}, "--tls-key"),  # a certificate is not a key
    ({"key_file": "other_key"}, "--tls-key"),  # a key, but not this certificate's
    ({"client_ca_file": "key"}, "--tls-client-ca"),
    ({"cert_file": "missing"}, "--tls-cert"),  # vanished after validation
])
async def test_unusable_tls_files_fail_start_naming_the_option(
        pki: Pki, other_pki: Pki, tmp_path: Path, change: dict[str, str], flag: str) -> None:
    paths = {"key": str(pki.server.key), "cert": str(pki.server.cert),
             "other_key": str(other_pki.server.key), "missing": str(tmp_path / "gone.pem")}
    tls = dataclasses.replace(_tls(pki, mutual=True),
                              **{k: paths[v] for k, v in change.items()})
    server = Server(dataclasses.replace(memory_config(), tls=tls))
    with pytest.raises(StartupError, match=flag):
        await server.start()
    assert server.store is None  # failed before opening anything


# --- configuration -----------------------------------------------------------------------------


def _from(argv: list[str], environ: dict[str, str] | None = None) -> Config:
    parser = argparse.ArgumentParser()
    config_mod.add_arguments(parser)
    return config_mod.from_args(parser.parse_args(argv), environ or {})


def test_config_reads_tls_from_flags_and_environment(pki: Pki) -> None:
    cert, key, ca = str(pki.server.cert), str(pki.server.key), str(pki.client.ca)
    assert _from([]).tls is None
    assert _from(["--tls-cert", cert, "--tls-key", key]).tls == ServerTls(cert, key, None)
    env = {"THREADLOCK_TLS_CERT": cert, "THREADLOCK_TLS_KEY": key,
           "THREADLOCK_TLS_CLIENT_CA": ca}
    config = _from([], env)
    assert config.tls == ServerTls(cert, key, ca) and config.tls.mutual
    # Flags win over the environment.
    assert _from(["--tls-client-ca", cert], env).tls == ServerTls(cert, key, cert)
    for name in (*env, "THREADLOCK_TLS_CA", "THREADLOCK_TLS_CLIENT_CERT",
                 "THREADLOCK_TLS_CLIENT_KEY"):
        assert name in config_mod.ENV_VARS


@pytest.mark.parametrize(("argv", "env", "message"), [
    (["--tls-cert", "{cert}"], {}, "--tls-cert and --tls-key: give both or neither"),
    (["--tls-key", "{key}"], {}, "--tls-cert and --tls-key: give both or neither"),
    ([], {"THREADLOCK_TLS_CERT": "{cert}"},
     "--tls-cert (from THREADLOCK_TLS_CERT) and --tls-key: give both or neither"),
    (["--tls-client-ca", "{ca}"], {}, "--tls-client-ca: mutual TLS needs --tls-cert"),
    (["--tls-cert", "{missing}", "--tls-key", "{key}"], {}, "--tls-cert: no such file"),
    (["--tls-cert", "{cert}"], {"THREADLOCK_TLS_KEY": "{missing}"},
     "--tls-key (from THREADLOCK_TLS_KEY): no such file"),
    (["--tls-cert", "{cert}", "--tls-key", "{key}", "--tls-client-ca", "{missing}"], {},
     "--tls-client-ca: no such file"),
])
def test_config_refuses_bad_tls_options(pki: Pki, tmp_path: Path, argv: list[str],
                                        env: dict[str, str], message: str) -> None:
    files = {"cert": pki.server.cert, "key": pki.server.key, "ca": pki.client.ca,
             "missing": tmp_path / "missing.pem"}
    argv = [a.format(**files) for a in argv]
    env = {k: v.format(**files) for k, v in env.items()}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _from(argv, env)


def test_serve_with_half_a_pair_exits_2(pki: Pki, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    for name in config_mod.ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["serve", "--tls-cert", str(pki.server.cert)]) == cli.EXIT_USAGE
    assert "--tls-key" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (["--tls-cert", "{cert}"], "--tls-cert and --tls-key (from THREADLOCK_TLS_CLIENT_KEY): "
                               "give both or neither"),
    (["--tls-cert", "{cert}", "--tls-key", "{key}"], "TLS also needs --tls-ca"),
    (["--tls-ca", "{missing}"], "--tls-ca: cannot read"),
])
def test_cli_refuses_bad_tls_options(pki: Pki, tmp_path: Path, argv: list[str], message: str,
                                     monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    for name in config_mod.ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    files = {"cert": pki.client.cert, "key": pki.client.key, "missing": tmp_path / "no.pem"}
    argv = ["status", "--address", "127.0.0.1:1", *(a.format(**files) for a in argv)]
    assert cli.main(argv) == cli.EXIT_USAGE
    assert message in capsys.readouterr().err


# --- `threadlock serve` and the CLI, as processes ----------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without THREADLOCK_* variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLOCK_")}
    return {**env, **extra}


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "threadlock", *args], env=env, text=True,
                          capture_output=True, timeout=60)


@pytest.fixture(params=["tls", "mutual"])
def tls_served(request: pytest.FixtureRequest, pki: Pki,
               tmp_path: Path) -> Iterator[tuple[str, bool, Path]]:
    """`threadlock serve` with TLS (or mutual TLS) set by THREADLOCK_TLS_* variables only:
    (address, mutual, log file)."""
    mutual = request.param == "mutual"
    address = f"127.0.0.1:{_free_port()}"
    env = _clean_env(THREADLOCK_LISTEN=address, THREADLOCK_LOG_FORMAT="text",
                     THREADLOCK_TLS_CERT=str(pki.server.cert),
                     THREADLOCK_TLS_KEY=str(pki.server.key))
    if mutual:
        env["THREADLOCK_TLS_CLIENT_CA"] = str(pki.client.ca)
    log = tmp_path / "serve.log"
    proc = subprocess.Popen([sys.executable, "-m", "threadlock", "serve"], env=env, text=True,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        wait_serving(address, proc, pki.client.channel_credentials())
        yield address, mutual, log
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_talks_tls_to_serve(tls_served: tuple[str, bool, Path], pki: Pki) -> None:
    address, mutual, log = tls_served
    assert f"TLS: {'mutual' if mutual else 'on'}" in log.read_text()
    # Mutual TLS: the client certificate from the environment; TLS: none is needed.
    env = _clean_env(THREADLOCK_ADDRESS=address)
    if mutual:
        env.update(THREADLOCK_TLS_CLIENT_CERT=str(pki.client.cert),
                   THREADLOCK_TLS_CLIENT_KEY=str(pki.client.key))
    tls = ["--tls-ca", str(pki.server.ca)]

    acquired = _cli("acquire", "conv_tls_cli", "--owner", "deploy@host", "--ttl", "30", *tls,
                    env=env)
    assert acquired.returncode == 0, acquired.stderr
    token = acquired.stdout.strip()
    assert token.startswith("tl1.") and "\n" not in token
    # The CA from the environment works as well as the flag.
    env_ca = {**env, "THREADLOCK_TLS_CA": str(pki.server.ca)}
    status = _cli("status", "conv_tls_cli", env=env_ca)
    assert status.returncode == 0, status.stderr
    assert "conv_tls_cli" in status.stdout and "deploy@host" in status.stdout
    released = _cli("release", token, *tls, env=env)
    assert released.returncode == 0 and "released" in released.stdout, released.stderr

    plain = _cli("status", env=_clean_env(THREADLOCK_ADDRESS=address))
    assert plain.returncode == cli.EXIT_ERROR and "UNAVAILABLE" in plain.stderr, plain.stderr
    if mutual:
        no_cert = _cli("status", *tls, env=_clean_env(THREADLOCK_ADDRESS=address))
        assert no_cert.returncode == cli.EXIT_ERROR, no_cert.stderr
        assert "UNAVAILABLE" in no_cert.stderr
