"""The `threadlock` command: run the coordinator (`serve`) or talk to one (`status`, `watch`,
`acquire`, `keepalive`, `release`) from a shell, e.g. to see who holds a conversation or to
take a lock around a script:

    TOKEN=$(threadlock acquire conv_1 --owner deploy --ttl 60 --wait 30) || exit
    ...; threadlock release "$TOKEN"

`threadlock fake-openai` serves a fake OpenAI API on loopback for tests and stress runs (see
threadlock.fake_openai; needs the `fake-openai` extra). `threadlock stress` runs worker processes
against one conversation to prove the guard prevents collisions (see threadlock.stress; needs
the SDK and the `stress` extra).

The client subcommands speak TLS to a coordinator that serves it when given --tls-ca (the CA
that verifies the server), and mutual TLS with --tls-cert/--tls-key as well. With auth on, they
send `authorization: Bearer <credential>` from --token-file (or $THREADLOCK_TOKEN_FILE) or
$THREADLOCK_TOKEN (a JWT or an API key; no flag for the value itself, which `ps` would show).

Exit codes: 0 success, 1 gRPC or start-up error ("error: CODE: details" on stderr), 2 bad
usage or INVALID_ARGUMENT, 3 `acquire` found the key busy. Only results go to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import logging
import math
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf import duration_pb2, json_format
from google.protobuf.message import Message

from threadlock import cli_watch
from threadlock import config as config_mod
from threadlock import stress as stress_mod
from threadlock.logs import setup_logging
from threadlock.v1 import lock_pb2 as pb
from threadlock.v1 import lock_pb2_grpc

EXIT_ERROR, EXIT_USAGE, EXIT_BUSY = 1, 2, 3


class _UsageError(Exception):
    """Bad client options; the message names the option."""


def _seconds_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative number of seconds: {text!r}")
    return value


def _meta_arg(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"must be key=value: {text!r}")
    return key, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="threadlock", description="Per-key locks for OpenAI "
                                     "conversations and threads, over gRPC.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the coordinator")
    config_mod.add_arguments(serve)

    client = argparse.ArgumentParser(add_help=False)
    client.add_argument("--address", default=os.environ.get(config_mod.ADDRESS_ENV,
                                                            "127.0.0.1:50051"),
                        help=f"coordinator host:port (env {config_mod.ADDRESS_ENV}; "
                             "default 127.0.0.1:50051)")
    # TLS options default to None so that the environment is read (and named in errors) later.
    client.add_argument("--tls-ca", metavar="FILE",
                        help="CA certificate (PEM) to verify the coordinator; enables TLS "
                             f"(env {config_mod.CLIENT_TLS_CA_ENV})")
    client.add_argument("--tls-cert", metavar="FILE",
                        help="client certificate (PEM) for mutual TLS; needs --tls-key and "
                             f"--tls-ca (env {config_mod.CLIENT_TLS_CERT_ENV})")
    client.add_argument("--tls-key", metavar="FILE",
                        help="private key (PEM) of --tls-cert "
                             f"(env {config_mod.CLIENT_TLS_KEY_ENV})")
    client.add_argument("--token-file", metavar="FILE",
                        help="file holding a JWT or API key for a coordinator with auth on "
                             f"(env {config_mod.CLIENT_TOKEN_FILE_ENV}; or the credential "
                             f"itself in {config_mod.CLIENT_TOKEN_ENV})")
    client.add_argument("--timeout", type=_seconds_arg, default=10.0,
                        help="seconds before the call gives up (added to --wait for acquire)")
    client.add_argument("--json", action="store_true", help="print the response as JSON")

    st = sub.add_parser("status", parents=[client], help="show holders and waiters")
    st.add_argument("key", nargs="?", help="exactly this key (default: all keys)")
    st.add_argument("--prefix", help="every key starting with PREFIX")
    st.add_argument("--page-size", type=int, default=0, help="keys per page (server default)")
    st.add_argument("--page-token", default="", help="continue from a previous page")
    st.add_argument("--all-pages", action="store_true", help="fetch every page")

    cli_watch.add_parser(sub, client)

    ac = sub.add_parser("acquire", parents=[client], help="take a lock; prints its token")
    ac.add_argument("key")
    ac.add_argument("--owner", required=True, help="who holds it, e.g. deploy@host")
    ac.add_argument("--ttl", type=_seconds_arg, help="lease TTL in seconds (not with "
                    "--session-id)")
    ac.add_argument("--wait", type=_seconds_arg, default=0.0,
                    help="seconds to queue for the key (default 0: try once)")
    ac.add_argument("--request-id", default="", help="idempotency key for retries")
    ac.add_argument("--meta", type=_meta_arg, action="append", default=[], metavar="K=V",
                    help="metadata shown by status (repeatable)")
    ac.add_argument("--session-id", default="", help="acquire under this session")

    ka = sub.add_parser("keepalive", parents=[client], help="renew a lease (or a session)")
    ka.add_argument("token", help="lease token (or session id with --session)")
    ka.add_argument("--session", action="store_true", help="TOKEN is a session id")
    ka.add_argument("--meta", type=_meta_arg, action="append", default=[], metavar="K=V",
                    help="merge into the lock's metadata, e.g. run_id=run_1; K= deletes K")

    rl = sub.add_parser("release", parents=[client], help="release a lock (idempotent)")
    rl.add_argument("token", help="lease token")

    fake = sub.add_parser("fake-openai", help="serve a fake OpenAI API (tests, stress runs)",
                          description="Serve a fake OpenAI API that enforces OpenAI's "
                          "conversation and thread concurrency errors. Prints 'fake-openai "
                          "listening on URL' (the base_url) once ready; SIGTERM/SIGINT stop it.")
    fake.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    fake.add_argument("--port", type=_port_arg, default=0, help="port (default 0: a free one)")
    fake.add_argument("--response-seconds", type=_seconds_arg, default=0.2,
                      help="how long a response takes (default 0.2)")
    fake.add_argument("--run-seconds", type=_seconds_arg, default=0.2,
                      help="how long a run takes (default 0.2)")

    stress = sub.add_parser("stress", help="prove guarded workers never collide at OpenAI",
                            description="Run worker processes on one conversation (or thread) "
                            "at once, guarded or not, and report conflicts, overlaps, "
                            "throughput, waits and fairness (see threadlock.stress).")
    stress_mod.add_arguments(stress)
    stress.set_defaults(stress_parser=stress)
    return parser


def _port_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535: {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "fake-openai":
        return _fake_openai(args)
    if args.command == "stress":
        return stress_mod.main(args.stress_parser, args)
    try:
        credentials = _channel_credentials(args)
        bearer = _bearer(args)
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with (grpc.insecure_channel(args.address) if credentials is None
              else grpc.secure_channel(args.address, credentials)) as channel:
            calls = channel if bearer is None else grpc.intercept_channel(channel, bearer)
            stub = lock_pb2_grpc.LockServiceStub(calls)
            handler = {"status": _status, "watch": cli_watch.run, "acquire": _acquire,
                       "keepalive": _keepalive, "release": _release}[args.command]
            return handler(stub, args)
    except grpc.RpcError as exc:
        code: grpc.StatusCode = exc.code()
        print(f"error: {code.name}: {exc.details()}", file=sys.stderr)
        return EXIT_USAGE if code == grpc.StatusCode.INVALID_ARGUMENT else EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def _tls_file(args: argparse.Namespace, dest: str, env: str) -> tuple[str | None, str]:
    """The file given by flag, else by `env`, and how to name it in an error."""
    flag = "--" + dest.replace("_", "-")
    value = getattr(args, dest, None)
    if value:
        return value, flag
    return os.environ.get(env, "").strip() or None, f"{flag} (from {env})"


class _Bearer(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds `authorization: Bearer <credential>` to every call, as every SDK sends it."""

    def __init__(self, credential: str) -> None:
        self._metadata = (("authorization", f"Bearer {credential}"),)

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        metadata = (*(details.metadata or ()), *self._metadata)
        return continuation(details._replace(metadata=metadata), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return self.intercept_unary_unary(continuation, details, request)  # Watch


def _bearer(args: argparse.Namespace) -> _Bearer | None:
    """The credential from --token-file / $THREADLOCK_TOKEN_FILE, else $THREADLOCK_TOKEN;
    None without one. Raises _UsageError naming the option."""
    path, name = _tls_file(args, "token_file", config_mod.CLIENT_TOKEN_FILE_ENV)
    if path is not None:
        try:
            with open(path, encoding="utf-8") as f:
                credential = f.read().strip()
        except OSError as exc:
            raise _UsageError(f"{name}: cannot read {path}: {exc.strerror or exc}") from None
        if not credential:
            raise _UsageError(f"{name}: {path} is empty")
        return _Bearer(credential)
    credential = os.environ.get(config_mod.CLIENT_TOKEN_ENV, "").strip()
    return _Bearer(credential) if credential else None


def _channel_credentials(args: argparse.Namespace) -> grpc.ChannelCredentials | None:
    """TLS credentials from --tls-ca/--tls-cert/--tls-key (or their variables); None for a
    plaintext channel. Raises _UsageError naming the option."""
    ca, ca_name = _tls_file(args, "tls_ca", config_mod.CLIENT_TLS_CA_ENV)
    cert, cert_name = _tls_file(args, "tls_cert", config_mod.CLIENT_TLS_CERT_ENV)
    key, key_name = _tls_file(args, "tls_key", config_mod.CLIENT_TLS_KEY_ENV)
    if ca is None and cert is None and key is None:
        return None
    if (cert is None) != (key is None):
        raise _UsageError(f"{cert_name} and {key_name}: give both or neither")
    if ca is None:
        raise _UsageError(f"{cert_name}/{key_name}: TLS also needs {ca_name}, the CA that "
                          "verifies the coordinator")

    def read(path: str | None, name: str) -> bytes | None:
        if path is None:
            return None
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as exc:
            raise _UsageError(f"{name}: cannot read {path}: {exc.strerror or exc}") from None

    return grpc.ssl_channel_credentials(root_certificates=read(ca, ca_name),
                                        private_key=read(key, key_name),
                                        certificate_chain=read(cert, cert_name))


def _serve(args: argparse.Namespace) -> int:
    try:
        cfg = config_mod.from_args(args)
    except ValueError as exc:
        print(f"threadlock serve: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(cfg.log_level, cfg.log_format)
    from threadlock.server import StartupError, serve  # client commands need none of this

    log = logging.getLogger("threadlock.server")
    try:
        asyncio.run(serve(cfg))
    except StartupError as exc:  # an operator error: the message says it all
        log.critical("cannot start: %s", exc)
        return EXIT_ERROR
    except Exception as exc:
        log.critical("server failed: %s", exc, exc_info=True)
        return EXIT_ERROR
    return 0


def _fake_openai(args: argparse.Namespace) -> int:
    try:
        from threadlock.fake_openai import FakeOpenAI
    except ImportError as exc:
        print(f"threadlock fake-openai: error: {exc}; install the extra: "
              "pip install 'threadlock[fake-openai]'", file=sys.stderr)
        return EXIT_ERROR

    async def run() -> None:
        fake = FakeOpenAI(host=args.host, port=args.port,
                          response_seconds=args.response_seconds, run_seconds=args.run_seconds)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with fake.serve():
            # One line a parent process can wait for and parse.
            print(f"fake-openai listening on {fake.base_url}", flush=True)
            await stop.wait()

    try:
        asyncio.run(run())
    except OSError as exc:
        print(f"threadlock fake-openai: error: cannot serve on {args.host}:{args.port}: {exc}",
              file=sys.stderr)
        return EXIT_ERROR
    return 0


def _print_json(message: Message) -> None:
    # Zero values too (e.g. "released": false), so scripts can rely on every field.
    data = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    print(json.dumps(data, indent=2, sort_keys=True))


def _duration(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(round(seconds * 1e9))
    return d


def _human(d: duration_pb2.Duration) -> str:
    total = round(d.seconds + d.nanos / 1e9)
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _deadline(args: argparse.Namespace, extra: float = 0.0) -> float:
    return float(args.timeout) + extra


def _status(stub: lock_pb2_grpc.LockServiceStub, args: argparse.Namespace) -> int:
    if args.key is not None and args.prefix is not None:
        print("error: give KEY or --prefix, not both", file=sys.stderr)
        return EXIT_USAGE
    merged = pb.StatusResponse()
    token = args.page_token
    while True:
        request = pb.StatusRequest(page_size=args.page_size, page_token=token)
        if args.key is not None:
            request.key = args.key
        else:
            request.prefix = args.prefix or ""
        page: pb.StatusResponse = stub.Status(request, timeout=_deadline(args))
        merged.locks.extend(page.locks)
        merged.next_page_token = token = page.next_page_token
        if not (args.all_pages and token):
            break
    if args.json:
        _print_json(merged)
    else:
        _print_table(merged.locks)
        if merged.next_page_token:
            print(f"more keys follow: --all-pages, or --page-token {merged.next_page_token}",
                  file=sys.stderr)
    return 0


def _print_table(locks: Sequence[pb.LockState]) -> None:
    if not locks:
        print("no locks held or queued", file=sys.stderr)
        return
    rows = [("KEY", "OWNER", "FENCING", "HELD FOR", "EXPIRES IN", "WAITERS", "METADATA")]
    for lock in locks:
        h = lock.holder
        meta = ",".join(f"{k}={v}" for k, v in sorted(h.metadata.items()))
        rows.append((lock.key, h.owner, str(h.fencing_token), _human(h.held_for),
                     _human(h.expires_in), str(len(lock.waiters)), meta or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]))


def _acquire(stub: lock_pb2_grpc.LockServiceStub, args: argparse.Namespace) -> int:
    request = pb.AcquireRequest(key=args.key, owner=args.owner, request_id=args.request_id,
                                metadata=dict(args.meta), session_id=args.session_id)
    if args.ttl is not None:
        request.ttl.CopyFrom(_duration(args.ttl))
    if args.wait:
        request.wait.CopyFrom(_duration(args.wait))
    # The call may legitimately take all of --wait, so the deadline comes on top of it.
    response: pb.AcquireResponse = stub.Acquire(request, timeout=_deadline(args, args.wait))
    if args.json:
        _print_json(response)
    if response.HasField("busy"):
        busy = response.busy
        print(busy.message or f"{busy.key} is busy", file=sys.stderr)
        return EXIT_BUSY
    lease = response.lease
    if not args.json:
        print(lease.lease_token)
    print(f"acquired {lease.key} as {lease.owner}: fencing token {lease.fencing_token}, "
          f"ttl {_human(lease.ttl)}, expires {_when(lease.expires_at.ToSeconds())}"
          + (f", session {lease.session_id}" if lease.session_id else ""), file=sys.stderr)
    return 0


def _when(unix: float) -> str:
    when = datetime.datetime.fromtimestamp(unix, tz=datetime.UTC).isoformat(timespec="seconds")
    return f"{when.replace('+00:00', 'Z')} (in {max(0, round(unix - time.time()))}s)"


def _keepalive(stub: lock_pb2_grpc.LockServiceStub, args: argparse.Namespace) -> int:
    request = (pb.KeepAliveRequest(session_id=args.token, metadata=dict(args.meta))
               if args.session else
               pb.KeepAliveRequest(lease_token=args.token, metadata=dict(args.meta)))
    response: pb.KeepAliveResponse = stub.KeepAlive(request, timeout=_deadline(args))
    if args.json:
        _print_json(response)
    else:
        print(f"renewed: ttl {_human(response.ttl)}, expires "
              f"{_when(response.expires_at.ToSeconds())}")
    return 0


def _release(stub: lock_pb2_grpc.LockServiceStub, args: argparse.Namespace) -> int:
    response: pb.ReleaseResponse = stub.Release(pb.ReleaseRequest(lease_token=args.token),
                                                timeout=_deadline(args))
    if args.json:
        _print_json(response)
    else:
        print("released" if response.released else "already released")
    return 0
