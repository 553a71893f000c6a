"""`threadlock stress`: the seed's race hunter (`debug:stress-test 7 --workers=5
--iterations=10`, `debug:parallel-workers 7 --workers=3 --duration=60`), productised. N worker
processes work on one conversation (or thread) at once, on purpose, for maximum conflict, and
the tool proves that guarded workers never collide and shows what the lock costs.

    threadlock stress --workers 5 --iterations 10            # guarded, must report 0
    threadlock stress --workers 3 --duration 60 --mode unguarded   # the seed's problem
    threadlock stress --api assistants --backend etcd --ttl 2 --kill-every 4 --duration 30
    threadlock stress --lang mixed --workers 4             # Python and Node workers, one conv

With no --openai-base-url it starts a fake OpenAI (threadlock.fake_openai) in the driver;
with no --address, an embedded coordinator (`threadlock serve` subprocess on a free loopback
port; --backend etcd adds a throwaway etcd). All of it is stopped at the end, on error and on
Ctrl-C; the coordinator and etcd also die with the driver if it is SIGKILLed. Options: see
`threadlock stress --help` (options.py).

Each iteration of a worker: acquire the conversation's lock (guarded: `guarded.session(conv)`
of threadlock_client.guard), call OpenAI (responses: one response on the conversation;
assistants: a message, then a run polled to its end), release. Workers are separate processes
(worker.py) released together by a stdin barrier; they report JSON events stamped with
CLOCK_MONOTONIC, which the driver (driver.py) and the analysis (report.py) share. With
--lang node (or mixed: every other slot) a slot's worker is clients/typescript/stress/worker.mjs
instead (the TypeScript SDK and its OpenAI guard, Node 22 from scripts/setup-node.sh, the SDK
built), speaking the same protocol; its process.hrtime.bigint() is CLOCK_MONOTONIC (node.py).

What the report says:
- iterations done: successful iterations (of workers x iterations; failed ones under errors);
- OpenAI conflicts: HTTP 400 "busy" answers the fake counted during the run (conversation
  locked, thread has an active run, message during a run), the only ground truth; against a
  real OpenAI, the busy answers the workers saw, counted by a hook on their HTTP client (so
  those the guard retries count too) plus the guard's ConversationLocked errors; max
  concurrent: the fake's peak of operations at once per conversation/thread (1 = never
  overlapped);
- overlaps: hold intervals [granted, released] on one key that intersect (unguarded: call
  intervals); a killed worker's interval ends at its kill, that of a worker that died or
  was stopped otherwise when the driver saw it end (a frozen holder overlaps the next one);
- token violations: fencing tokens that do not strictly increase in grant order per key;
- acquisitions/s (unguarded: calls/s); wait p50/p95/p99/max: from asking for the lock to
  getting it or giving up (ThreadBusy; how many gave up is shown too);
- per-worker iterations, min/max and Jain's fairness index (1 = equal shares);
- errors by kind (OpenAI error code or exception class; worker_exit_N: a worker the driver
  did not kill exited with N); in a guarded run every error fails it, except ThreadBusy
  (the --wait ran out) with --allow-busy;
- kills (--kill-every, at least --ttl + 2): how many, how many hit a lock holder, how many
  left its response/run in flight (the fake's count), and per holder the handover: kill to
  the next grant of its key. It is judged only if a worker waited for the key (asked before
  kill + TTL): it must come within --ttl + --handover-slack, and must come at all ("lost"
  fails the run); otherwise it says "no waiter" (a replacement's start-up is not the lock's).
  The driver kills a holder at a random moment inside its OpenAI call (faults.py), and never
  a worker that has not finished an iteration since it started, so kills cannot outpace
  the replacements.

Exit status: 0 pass (or any unguarded run: it is a demonstration and says whether it showed
the race); 1 a guarded run saw a conflict, an overlap, a token violation, an error, a slow
or lost handover, no completed iteration, or stalled (no iteration finished for --wait +
2 TTL + 60 s; the report says which iterations were lost), or the run could not start (also:
the stress extra is not installed); 2 bad options (the message names the option); 130
interrupted (Ctrl-C), 143 terminated (SIGTERM); both stop every worker and service first.

`--events FILE` writes every worker event, stamped, for a post-mortem of a failed run.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys

from threadlock.stress.options import add_arguments, check

__all__ = ["add_arguments", "check", "main"]

INSTALL_HINT = "pip install './clients/python[openai]' '.[stress]'"


def main(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Validate `args` (parsed by `parser`, which add_arguments filled) and run."""
    check(parser, args)
    try:  # the coordinator itself never needs these: imported only for a stress run
        for name in ("aiohttp", "openai", "threadlock_client.guard"):
            importlib.import_module(name)
    except ImportError as exc:
        print(f"threadlock stress: error: {exc}; install the SDK and the stress extra: "
              f"{INSTALL_HINT}", file=sys.stderr)
        return 1
    from threadlock.stress import driver, services

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds run(): workers and services are stopped

    signal.signal(signal.SIGTERM, terminate)
    try:
        return driver.run(args)
    except services.StartError as exc:
        print(f"threadlock stress: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return driver.interrupted()
