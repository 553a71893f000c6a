"""`threadlock stress` options: the argparse definitions and the cross-option checks. Imports
nothing beyond the standard library, so `threadlock --help` works without the stress extra.
Every refusal is an argparse error naming the option (exit status 2)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _number(kind: type[int] | type[float], low: float, *,
            inclusive: bool = True) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        ok = math.isfinite(value) and (value >= low if inclusive else value > low)
        if not ok:
            need = f">= {low:g}" if inclusive else f"> {low:g}"
            raise argparse.ArgumentTypeError(f"must be a number {need}: {text!r}")
        return value
    return parse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=_number(int, 1), default=5,
                   help="worker processes (default 5)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--iterations", type=_number(int, 1), default=None,
                        help="iterations per worker (default 10)")
    length.add_argument("--duration", type=_number(float, 0, inclusive=False), default=None,
                        metavar="S", help="run for S seconds instead of a fixed count")
    p.add_argument("--threads", type=_number(int, 1), default=1, metavar="K",
                   help="conversations/threads; worker i uses number i %% K (default 1: all "
                        "on one, the most conflict)")
    p.add_argument("--mode", choices=("guarded", "unguarded"), default="guarded",
                   help="guarded: through threadlock's OpenAI guard (default); unguarded: "
                        "straight to OpenAI, the seed's race")
    p.add_argument("--api", choices=("responses", "assistants"), default="responses",
                   help="responses (a response on a conversation, default) or assistants "
                        "(a message then a run on a thread)")
    p.add_argument("--face", choices=("sync", "async"), default="sync",
                   help="the SDK face the workers use (default sync)")
    p.add_argument("--openai-base-url", default=None, metavar="URL",
                   help="OpenAI API to call (default: a fake OpenAI started for the run; a "
                        "real one uses $OPENAI_API_KEY, --model and --assistant-id)")
    p.add_argument("--model", default="gpt-4o-mini", help="model for responses/runs")
    p.add_argument("--assistant-id", default="asst_stress",
                   help="assistant for runs (any id works with the fake)")
    p.add_argument("--address", default=None, metavar="HOST:PORT",
                   help="coordinator to use (default: start an embedded one for the run)")
    p.add_argument("--backend", choices=("memory", "etcd"), default="memory",
                   help="backend of the embedded coordinator (etcd: a throwaway etcd)")
    p.add_argument("--ttl", type=_number(float, 2), default=10.0,
                   help="lease TTL in seconds (default 10; at least 2, etcd's minimum)")
    p.add_argument("--wait", type=_number(float, 0), default=120.0,
                   help="seconds a worker queues for the lock (default 120)")
    p.add_argument("--call-seconds", type=_number(float, 0), default=0.2, metavar="S",
                   help="how long the fake takes per response/run (default 0.2)")
    p.add_argument("--kill-every", type=_number(float, 0, inclusive=False), default=None,
                   metavar="X", help="SIGKILL a worker (a lock holder if any) every X seconds "
                                     "and start a replacement")
    p.add_argument("--seed", type=int, default=None, help="random seed for --kill-every")
    p.add_argument("--handover-slack", type=_number(float, 0), default=1.5, metavar="S",
                   help="a killed holder's key must be granted again within TTL + S "
                        "(default 1.5)")
    p.add_argument("--json", action="store_true",
                   help="print the report as one JSON document on stdout")
    p.add_argument("--quiet", action="store_true", help="no live progress on stderr")
    p.add_argument("--events", default=None, metavar="FILE",
                   help="also write every worker event (JSON lines, with worker instance, "
                        "slot and driver events such as kills) to FILE, for a post-mortem")


def check(p: argparse.ArgumentParser, a: argparse.Namespace) -> None:
    """Cross-option rules; p.error() exits 2 with a message naming the option."""
    if a.duration is None and a.iterations is None:
        a.iterations = 10
    if a.address is not None:
        host, sep, port = a.address.rpartition(":")
        if not (sep and host and port.isdigit() and int(port) <= 65535):
            p.error(f"--address: must be host:port, got {a.address!r}")
        if a.backend != "memory":
            p.error("--backend: only for the embedded coordinator, not with --address")
    if a.kill_every is not None:
        if a.workers < 2:
            p.error("--kill-every: needs --workers 2 or more (someone must take over)")
        # A killed holder's response stays in flight for up to --call-seconds; its lock lapses
        # from 2/3 TTL after the kill (renewals come every TTL/3). The next holder must not
        # find the conversation still busy, or the fake counts a conflict nobody could avoid.
        if a.api == "responses" and a.call_seconds >= a.ttl / 2:
            p.error(f"--call-seconds: must be under half of --ttl ({a.ttl:g}) with "
                    "--kill-every and --api responses")
    if a.wait < a.call_seconds:
        p.error("--wait: must be at least --call-seconds")
