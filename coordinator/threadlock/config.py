"""The coordinator's configuration: one frozen `Config`, filled from command-line flags, then
`THREADLOCK_*` environment variables, then built-in defaults (in that order of precedence).

Every option has exactly one flag and one environment variable, so a container image or a Helm
chart can configure the server without a command line. Values are validated here, once, with
errors that name the flag and the variable, so a bad deployment fails at start-up and says why
instead of failing on the first request.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from threadlock.model import Limits

# etcd refuses leases shorter than this (its minimum lease TTL), and caps them at this.
ETCD_MIN_TTL = 2
ETCD_MAX_TTL = 9_000_000_000

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("json", "text")

# Read by the client subcommands (status, acquire, ...), not by the server. The client's
# certificate has variables of its own, not THREADLOCK_TLS_CERT/KEY: in the coordinator's own
# container those hold the server's certificate, which a `threadlock status` run there must not
# present as its client certificate.
ADDRESS_ENV = "THREADLOCK_ADDRESS"
CLIENT_TLS_CA_ENV = "THREADLOCK_TLS_CA"
CLIENT_TLS_CERT_ENV = "THREADLOCK_TLS_CLIENT_CERT"
CLIENT_TLS_KEY_ENV = "THREADLOCK_TLS_CLIENT_KEY"
# A credential for a coordinator with auth on (a JWT or an API key), or a file holding one
# (re-read per command: projected ServiceAccount tokens rotate).
CLIENT_TOKEN_ENV = "THREADLOCK_TOKEN"
CLIENT_TOKEN_FILE_ENV = "THREADLOCK_TOKEN_FILE"
CLIENT_ENV_VARS = (ADDRESS_ENV, CLIENT_TLS_CA_ENV, CLIENT_TLS_CERT_ENV, CLIENT_TLS_KEY_ENV,
                   CLIENT_TOKEN_ENV, CLIENT_TOKEN_FILE_ENV)


@dataclass(frozen=True)
class EtcdTls:
    """Files for TLS to etcd: a CA to verify the servers, and a client certificate and key for
    mutual TLS. Any may be None (a CA alone gives server-verified TLS)."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None


@dataclass(frozen=True)
class ServerTls:
    """Files for TLS on the coordinator's own gRPC port: its certificate (chain) and key, and
    optionally a CA that clients' certificates must be signed by (mutual TLS)."""

    cert_file: str
    key_file: str
    client_ca_file: str | None = None

    @property
    def mutual(self) -> bool:
        return self.client_ca_file is not None


@dataclass(frozen=True)
class Config:
    listen: str = "127.0.0.1:50051"
    tls: ServerTls | None = None  # None: plaintext gRPC
    # Empty: the embedded in-memory backend (one process, no etcd). Zero-setup default.
    etcd_endpoints: list[str] = field(default_factory=list)
    key_prefix: str = "/threadlock/"
    etcd_tls: EtcdTls | None = None
    etcd_timeout: float = 5.0  # seconds per etcd call
    min_ttl: int = ETCD_MIN_TTL
    max_ttl: int = 3600
    max_wait: float = 600.0
    health_interval: float = 1.0
    shutdown_grace: float = 10.0
    # "": off. Off by default, so that no fixed port collides (several servers per host).
    metrics_listen: str = ""
    metrics_interval: float = 15.0
    # Off by default: the live lock page (status_page.py) on the metrics port.
    status_page: bool = False
    health_listen: str = ""
    # "": off. The Connect protocol (HTTP/JSON) face, e.g. "0.0.0.0:8080".
    http_listen: str = ""
    log_level: str = "INFO"
    log_format: str = "json"
    # "": auth off (anyone who reaches the port may call). See threadlock/auth/policy.py.
    auth_file: str = ""
    max_message_bytes: int = 1 << 20  # largest request message accepted (gRPC port)
    max_streams: int = 1000  # concurrent calls per client connection (gRPC port)
    max_waiters: int = 10_000  # queued Acquires one replica holds at once, all tenants
    # OpenTelemetry traces (threadlock.tracing), exported as the OTEL_* variables say.
    otel: bool = False
    max_watchers: int = 1000  # Watch streams one replica serves at once, all tenants
    watch_buffer: int = 10_000  # undelivered events per watcher before it is cut off
    # Calls in flight at once on one LockService.Stream (stream_face.py); like max_streams
    # for unary calls. Not a command-line option yet: the shipped default is the contract's.
    max_stream_calls: int = 1000

    @property
    def backend(self) -> str:
        return "etcd" if self.etcd_endpoints else "memory"

    def limits(self) -> Limits:
        return Limits(min_ttl=self.min_ttl, max_ttl=self.max_ttl, max_wait=self.max_wait)


@dataclass(frozen=True)
class _Option:
    dest: str
    help: str
    switch: bool = False  # true/false; the bare flag means true

    @property
    def flag(self) -> str:
        return "--" + self.dest.replace("_", "-")

    @property
    def env(self) -> str:
        return "THREADLOCK_" + self.dest.upper()


# Flag/env names derive from `dest`: etcd_ca -> --etcd-ca / THREADLOCK_ETCD_CA.
_OPTIONS = (
    _Option("listen", "host:port to serve gRPC on (port 0 picks a free port)"),
    _Option("tls_cert", "server certificate (PEM, may include its chain) to serve gRPC over "
                        "TLS; needs --tls-key"),
    _Option("tls_key", "private key (PEM) of --tls-cert"),
    _Option("tls_client_ca", "CA certificate (PEM) that clients' certificates must be signed "
                             "by: mutual TLS (needs --tls-cert/--tls-key)"),
    _Option("etcd_endpoints", "comma-separated etcd endpoints, e.g. etcd-0:2379,etcd-1:2379; "
                              "empty = embedded in-memory backend (single replica only)"),
    _Option("key_prefix", "etcd key prefix for all lock state; must start and end with '/'"),
    _Option("etcd_ca", "CA certificate file to verify etcd (enables TLS)"),
    _Option("etcd_cert", "client certificate file for etcd mutual TLS"),
    _Option("etcd_key", "client key file for etcd mutual TLS"),
    _Option("etcd_timeout", "seconds allowed per etcd call"),
    _Option("min_ttl", "smallest lease TTL in whole seconds (etcd's minimum is 2)"),
    _Option("max_ttl", "largest lease TTL in whole seconds"),
    _Option("max_wait", "longest an Acquire may queue, in seconds"),
    _Option("health_interval", "seconds between store health checks"),
    _Option("shutdown_grace", "seconds in-flight calls get to finish on SIGTERM; the whole "
                              "stop takes at most 5 s more (set terminationGracePeriodSeconds "
                              "to at least this + 10)"),
    _Option("metrics_listen", "host:port to serve Prometheus metrics on, at /metrics over "
                              "plain HTTP (e.g. 0.0.0.0:9090); empty = no metrics"),
    _Option("metrics_interval", "seconds between counts of the locks held and waiting in the "
                                "whole store (the threadlock_locks_held and "
                                "threadlock_lock_waiters gauges)"),
    _Option("status_page", "serve a live page of every lock's holder and waiters at /status "
                           "on the metrics port (needs --metrics-listen; with --auth-file only "
                           "on a loopback metrics address): true or false", switch=True),
    _Option("health_listen", "host:port of an extra PLAINTEXT gRPC port that serves only the "
                             "grpc.health.v1 Health service (for Kubernetes probes when "
                             "--tls-cert is set); empty = none"),
    _Option("http_listen", "host:port to serve the Connect protocol on (HTTP/1.1: POST "
                           "/threadlock.v1.LockService/<Method> with JSON or binary protobuf; "
                           "HTTPS with the --tls-* files when set), e.g. 0.0.0.0:8080; "
                           "empty = off"),
    _Option("auth_file", "YAML file of API keys (sha256), JWT issuers and mTLS identities "
                         "with their tenants, roles and quotas; reloaded on change and on "
                         "SIGHUP; empty = auth off (see docs/security.md)"),
    _Option("max_message_bytes", "largest request message the gRPC port accepts, in bytes"),
    _Option("max_streams", "concurrent calls per client connection on the gRPC port"),
    _Option("max_waiters", "queued Acquires one replica holds at once (all tenants); more "
                           "are refused with RESOURCE_EXHAUSTED"),
    _Option("otel", "on: OpenTelemetry traces of every call and its etcd requests, "
                    "exported by OTLP/gRPC as the standard OTEL_* variables say (e.g. "
                    "OTEL_EXPORTER_OTLP_ENDPOINT); needs threadlock[otel] (docs/tracing.md)"),
    _Option("max_watchers", "Watch streams one replica serves at once (all tenants); more "
                            "are refused with RESOURCE_EXHAUSTED"),
    _Option("watch_buffer", "events a watcher may fall behind before it is disconnected "
                            "with RESOURCE_EXHAUSTED (it resumes with its last cursor)"),
    _Option("log_level", "DEBUG, INFO, WARNING, ERROR or CRITICAL"),
    _Option("log_format", "json (one object per line) or text"),
)

# Every environment variable threadlock reads: the server options, then the client ones.
ENV_VARS: tuple[str, ...] = (*(o.env for o in _OPTIONS), *CLIENT_ENV_VARS)

_DEFAULTS = Config()
_BUILTIN: dict[str, object] = {
    "listen": _DEFAULTS.listen, "tls_cert": "", "tls_key": "", "tls_client_ca": "",
    "etcd_endpoints": "", "key_prefix": _DEFAULTS.key_prefix,
    "etcd_ca": "", "etcd_cert": "", "etcd_key": "", "etcd_timeout": _DEFAULTS.etcd_timeout,
    "min_ttl": _DEFAULTS.min_ttl, "max_ttl": _DEFAULTS.max_ttl, "max_wait": _DEFAULTS.max_wait,
    "health_interval": _DEFAULTS.health_interval, "shutdown_grace": _DEFAULTS.shutdown_grace,
    "metrics_listen": "", "metrics_interval": _DEFAULTS.metrics_interval, "status_page": "false",
    "health_listen": "",
    "http_listen": "", "log_level": _DEFAULTS.log_level, "log_format": _DEFAULTS.log_format,
    "auth_file": "", "max_message_bytes": _DEFAULTS.max_message_bytes,
    "max_streams": _DEFAULTS.max_streams, "max_waiters": _DEFAULTS.max_waiters,
    "otel": "off",
    "max_watchers": _DEFAULTS.max_watchers, "watch_buffer": _DEFAULTS.watch_buffer,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per option. Flags default to None so that `from_args` can tell "not given"
    apart and fall back to the environment, then to the built-in default."""
    group = parser.add_argument_group("server options (flag > environment > default)")
    for opt in _OPTIONS:
        default = _BUILTIN[opt.dest]
        shown = f"default {default!r}" if default != "" else "default unset"
        extra: dict[str, Any] = {"nargs": "?", "const": "true"} if opt.switch else {}
        group.add_argument(opt.flag, dest=opt.dest, default=None, metavar=opt.dest.upper(),
                           help=f"{opt.help} (env {opt.env}; {shown})", **extra)


def from_args(ns: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Config:
    """Build and validate a Config from parsed flags and `environ` (default os.environ).
    Raises ValueError naming the offending option (and its variable, if that is the source)."""
    env = os.environ if environ is None else environ
    raw: dict[str, str] = {}
    names: dict[str, str] = {}  # dest -> how to name it in an error: where the value came from
    for opt in _OPTIONS:
        value = getattr(ns, opt.dest, None)
        names[opt.dest] = opt.flag
        if value is None and opt.env in env:
            value, names[opt.dest] = env[opt.env], f"{opt.flag} (from {opt.env})"
        raw[opt.dest] = str(_BUILTIN[opt.dest] if value is None else value).strip()

    def get(dest: str, parse: Callable[[str, str], Any] = lambda s, _n: s) -> Any:
        return parse(raw[dest], names[dest])

    endpoints = [e.strip() for e in get("etcd_endpoints").split(",") if e.strip()]
    ca, cert, key = (get(n) or None for n in ("etcd_ca", "etcd_cert", "etcd_key"))
    tls = EtcdTls(ca, cert, key) if (ca or cert or key) else None
    server_cert, server_key, client_ca = (get(n) for n in ("tls_cert", "tls_key",
                                                          "tls_client_ca"))
    # A half-given pair is kept ("" for the missing file) for validate() to name it.
    server_tls = (ServerTls(server_cert, server_key, client_ca or None)
                  if (server_cert or server_key or client_ca) else None)
    config = Config(
        listen=get("listen"),
        tls=server_tls,
        etcd_endpoints=endpoints,
        key_prefix=get("key_prefix"),
        etcd_tls=tls,
        etcd_timeout=get("etcd_timeout", _seconds(positive=True)),
        min_ttl=get("min_ttl", _whole),
        max_ttl=get("max_ttl", _whole),
        max_wait=get("max_wait", _seconds(positive=False)),
        health_interval=get("health_interval", _seconds(positive=True)),
        shutdown_grace=get("shutdown_grace", _seconds(positive=False)),
        metrics_listen=get("metrics_listen"),
        metrics_interval=get("metrics_interval", _seconds(positive=True)),
        status_page=get("status_page", _switch),
        health_listen=get("health_listen"),
        http_listen=get("http_listen"),
        log_level=get("log_level", _choice(LOG_LEVELS, upper=True)),
        log_format=get("log_format", _choice(LOG_FORMATS, upper=False)),
        auth_file=get("auth_file"),
        max_message_bytes=get("max_message_bytes", _count(minimum=4096)),
        max_streams=get("max_streams", _count(minimum=1)),
        max_waiters=get("max_waiters", _count(minimum=0)),
        otel=get("otel", _switch),
        max_watchers=get("max_watchers", _count(minimum=0)),
        watch_buffer=get("watch_buffer", _count(minimum=1)),
    )
    validate(config, names)
    return config


def validate(config: Config, names: Mapping[str, str] | None = None) -> None:
    """Cross-field checks; raises ValueError naming the option (`names` maps an option to how
    the user set it, e.g. "--min-ttl (from THREADLOCK_MIN_TTL)")."""
    def flag(dest: str) -> str:
        return (names or {}).get(dest) or "--" + dest.replace("_", "-")

    listen = config.listen
    if not listen.startswith("unix:") and not _host_port(listen):
        raise ValueError(f"{flag('listen')}: must be host:port (port 0-65535) or "
                         f"unix:PATH, got {listen!r}")
    taken = {listen: "listen"}
    for dest in ("metrics_listen", "health_listen", "http_listen"):
        address = getattr(config, dest)
        if not address:
            continue
        if not _host_port(address):
            raise ValueError(f"{flag(dest)}: must be host:port (port 0-65535) or empty, "
                             f"got {address!r}")
        if address in taken and not address.endswith(":0"):
            raise ValueError(f"{flag(dest)}: {address} is already {flag(taken[address])}'s "
                             "address; give each port its own")
        taken[address] = dest
    for endpoint in config.etcd_endpoints:
        if any(c.isspace() for c in endpoint):
            raise ValueError(f"{flag('etcd_endpoints')}: bad endpoint {endpoint!r}")
    prefix = config.key_prefix
    if not (prefix.startswith("/") and prefix.endswith("/")) or not prefix.isprintable():
        raise ValueError(f"{flag('key_prefix')}: must start and end with '/', got {prefix!r}")
    _validate_status_page(config, flag)
    if config.auth_file and not os.path.isfile(config.auth_file):
        raise ValueError(f"{flag('auth_file')}: no such file: {config.auth_file}")
    _validate_server_tls(config, flag)
    _validate_tls(config, flag)
    # The in-memory backend has no lease floor of its own; etcd refuses leases below 2 s.
    floor = ETCD_MIN_TTL if config.etcd_endpoints else 1
    if config.min_ttl < floor:
        why = " (etcd's minimum lease TTL)" if config.etcd_endpoints else ""
        raise ValueError(f"{flag('min_ttl')}: must be at least {floor}{why}, "
                         f"got {config.min_ttl}")
    if not config.min_ttl <= config.max_ttl <= ETCD_MAX_TTL:
        raise ValueError(f"{flag('max_ttl')}: must be between --min-ttl ({config.min_ttl}) "
                         f"and {ETCD_MAX_TTL}, got {config.max_ttl}")


def _validate_status_page(config: Config, flag: Callable[[str], str]) -> None:
    if not config.status_page:
        return
    if not config.metrics_listen:
        raise ValueError(f"{flag('status_page')}: the page is served on the metrics port; "
                         f"set {flag('metrics_listen')} too")
    host = config.metrics_listen.rpartition(":")[0].removeprefix("[").removesuffix("]")
    if config.auth_file and host not in LOOPBACK_HOSTS:
        # The metrics port is plain HTTP: the page's bearer credentials would cross the
        # network in clear text. Reach a loopback page with `kubectl port-forward`.
        raise ValueError(f"{flag('status_page')}: with {flag('auth_file')} the page needs a "
                         f"loopback {flag('metrics_listen')} (127.0.0.1, ::1 or localhost; "
                         f"the port has no TLS and viewers send credentials), "
                         f"got {config.metrics_listen!r}")


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def _host_port(address: str) -> bool:
    host, sep, port = address.rpartition(":")
    return bool(sep and host and port.isdigit() and int(port) <= 65535)


def _validate_server_tls(config: Config, flag: Callable[[str], str]) -> None:
    tls = config.tls
    if tls is None:
        return
    if not tls.cert_file and not tls.key_file:
        raise ValueError(f"{flag('tls_client_ca')}: mutual TLS needs {flag('tls_cert')} and "
                         f"{flag('tls_key')} as well")
    if not tls.cert_file or not tls.key_file:
        raise ValueError(f"{flag('tls_cert')} and {flag('tls_key')}: give both or neither")
    for dest, path in (("tls_cert", tls.cert_file), ("tls_key", tls.key_file),
                       ("tls_client_ca", tls.client_ca_file)):
        # Checked now so that a missing secret mount fails at start-up, not at first connect.
        if path is not None and not os.path.isfile(path):
            raise ValueError(f"{flag(dest)}: no such file: {path}")


def _validate_tls(config: Config, flag: Callable[[str], str]) -> None:
    tls = config.etcd_tls
    if tls is None:
        return
    if not config.etcd_endpoints:
        raise ValueError(f"{flag('etcd_ca')}/{flag('etcd_cert')}/{flag('etcd_key')}: "
                         f"TLS files given but no {flag('etcd_endpoints')}")
    if (tls.cert_file is None) != (tls.key_file is None):
        raise ValueError(f"{flag('etcd_cert')} and {flag('etcd_key')}: give both or neither")
    for dest, path in (("etcd_ca", tls.ca_file), ("etcd_cert", tls.cert_file),
                       ("etcd_key", tls.key_file)):
        # Checked now so that a missing secret mount fails at start-up, not at first connect.
        if path is not None and not os.path.isfile(path):
            raise ValueError(f"{flag(dest)}: no such file: {path}")


def _whole(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}: must be a whole number of seconds, got {value!r}") from None


def _count(*, minimum: int) -> Callable[[str, str], int]:
    def parse(value: str, name: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = minimum - 1
        if number < minimum:
            raise ValueError(f"{name}: must be a whole number of at least {minimum}, "
                             f"got {value!r}")
        return number
    return parse


def _seconds(*, positive: bool) -> Callable[[str, str], float]:
    def parse(value: str, name: str) -> float:
        try:
            seconds = float(value)
        except ValueError:
            seconds = math.nan
        if not math.isfinite(seconds) or seconds < 0 or (positive and seconds == 0):
            need = "a positive" if positive else "a non-negative"
            raise ValueError(f"{name}: must be {need} number of seconds, got {value!r}")
        return seconds
    return parse


def _switch(value: str, name: str) -> bool:
    norm = value.lower()
    if norm in ("1", "true", "on", "yes"):
        return True
    if norm in ("", "0", "false", "off", "no"):
        return False
    raise ValueError(f"{name}: must be on or off (true/false, 1/0, yes/no), got {value!r}")


def _choice(choices: tuple[str, ...], *, upper: bool) -> Callable[[str, str], str]:
    def parse(value: str, name: str) -> str:
        norm = value.upper() if upper else value.lower()
        norm = "WARNING" if norm == "WARN" else norm
        if norm not in choices:
            raise ValueError(f"{name}: must be one of {', '.join(choices)}, got {value!r}")
        return norm
    return parse
