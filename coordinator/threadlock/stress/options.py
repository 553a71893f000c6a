"""`threadlock stress` options: the argparse definitions and the cross-option checks. Imports
nothing beyond the standard library, so `threadlock --help` works without the stress extra.
Every refusal is an argparse error naming the option (exit status 2)."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable

MAX_WORKERS = 256  # each is a Python process of ~50 MB: more would only measure swapping
# A replacement worker must be able to finish an iteration between two kills: the killed
# holder's lease lapses within the TTL, then start-up and one call take about this long.
KILL_MARGIN = 2.0


def _number(kind: type[int] | type[float], low: float, *, inclusive: bool = True,
            high: float = math.inf) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        ok = (math.isfinite(value) and (value >= low if inclusive else value > low)
              and value <= high)
        if not ok:
            what = "an integer" if kind is int else "a number"
            need = f">= {low:g}" if inclusive else f"> {low:g}"
            if math.isfinite(high):
                need += f" and <= {high:g}"
            raise argparse.ArgumentTypeError(f"must be {what} {need}: {text!r}")
        return value
    return parse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=_number(int, 1, high=MAX_WORKERS), default=5,
                   help=f"worker processes (default 5, at most {MAX_WORKERS})")
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
                   help="the SDK face the Python workers use (default sync)")
    p.add_argument("--lang", choices=("python", "node", "mixed"), default="python",
                   help="worker language: python (default), node (the TypeScript SDK and "
                        "its OpenAI guard, Node 22), or mixed (Python and Node workers "
                        "alternate, sharing each conversation)")
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
                   help="seconds a worker queues for the lock (default 120); running out "
                        "(ThreadBusy) fails a guarded run unless --allow-busy")
    p.add_argument("--allow-busy", action="store_true",
                   help="a guarded run may give up waiting (ThreadBusy) without failing: "
                        "for a deliberately short --wait")
    p.add_argument("--call-seconds", type=_number(float, 0), default=0.2, metavar="S",
                   help="how long the fake takes per response/run (default 0.2)")
    p.add_argument("--kill-every", type=_number(float, 0, inclusive=False), default=None,
                   metavar="X", help="about every X seconds, SIGKILL a worker (a lock "
                                     "holder in the middle of its OpenAI call if one comes "
                                     "along) and start a replacement; X >= --ttl + "
                                     f"{KILL_MARGIN:g}")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed for --kill-every (victims and moments)")
    p.add_argument("--handover-slack", type=_number(float, 0), default=None, metavar="S",
                   help="with --kill-every: a killed holder's key must be granted again "
                        "within TTL + S (default 1.5)")
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
    if a.threads > a.workers:
        p.error(f"--threads: at most --workers ({a.workers}); a target nobody works on "
                "tests nothing")
    if a.kill_every is None:
        for name, value in (("--seed", a.seed), ("--handover-slack", a.handover_slack)):
            if value is not None:
                p.error(f"{name}: only with --kill-every (it is about the kills)")
    if a.handover_slack is None:
        a.handover_slack = 1.5
    if a.address is not None:
        host, sep, port = a.address.rpartition(":")
        if not (sep and host and port.isdigit() and int(port) <= 65535):
            p.error(f"--address: must be host:port, got {a.address!r}")
        if a.backend != "memory":
            p.error("--backend: only for the embedded coordinator, not with --address")
    if a.kill_every is not None:
        if a.workers < 2:
            p.error("--kill-every: needs --workers 2 or more (someone must take over)")
        # Shorter, and kills can outpace the replacements: an --iterations run never ends.
        if a.kill_every < a.ttl + KILL_MARGIN:
            p.error(f"--kill-every: must be at least --ttl + {KILL_MARGIN:g} "
                    f"({a.ttl + KILL_MARGIN:g}), or replacements may be killed before they "
                    "finish an iteration")
        # A killed holder's response stays in flight for up to --call-seconds; its lock lapses
        # from 2/3 TTL after the kill (renewals come every TTL/3). The next holder must not
        # find the conversation still busy, or the fake counts a conflict nobody could avoid.
        if a.api == "responses" and a.call_seconds >= a.ttl / 2:
            p.error(f"--call-seconds: must be under half of --ttl ({a.ttl:g}) with "
                    "--kill-every and --api responses")
    if a.lang != "python":
        from threadlock.stress import node  # stdlib only, like this module

        why = node.problem()
        if why is not None:
            p.error(f"--lang {a.lang}: {why}")
    if a.wait < a.call_seconds:
        p.error("--wait: must be at least --call-seconds")
    if a.events is not None:  # found now, not as a traceback after the whole run
        path = os.path.abspath(a.events)
        parent = os.path.dirname(path)
        if os.path.isdir(path) or not os.path.isdir(parent) or not os.access(
                path if os.path.exists(path) else parent, os.W_OK):
            p.error(f"--events: cannot write {a.events!r}")
