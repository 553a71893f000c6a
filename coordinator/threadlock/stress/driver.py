"""The stress driver: starts the worker processes, releases them together, reads their events,
prints progress, injects faults (SIGKILL + respawn), and stops everything on every exit path.

Each worker *slot* keeps its conversation/thread and its share of the iterations; a killed
worker is replaced by a new *instance* in the same slot, which does the iterations left
(iterations mode), so the total stays workers x iterations. Instances, not slots, are what the
overlap and handover checks tell apart: a replacement is another worker.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from threadlock.stress import faults, node, progress, report, services

_live: set[subprocess.Popen[str]] = set()


@atexit.register
def _kill_leftovers() -> None:  # a backstop: run() already stops its workers in `finally`
    for proc in list(_live):
        _kill(proc)


def _kill(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)
    _live.discard(proc)


def _tail(path: Path, chars: int = 1500) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return f"(no log at {path})"


@dataclass
class Instance:
    """One worker process."""

    id: int
    slot: int
    proc: subprocess.Popen[str]
    stderr: Path
    ready: bool = False
    killed: bool = False  # by the driver: a fault (kill()) or a replacement cut at the stop
    fault: bool = False  # killed by kill(): a Kill for the report
    killed_at: float = 0.0
    in_flight: bool | None = None  # the fake had a response/run in flight right after the kill
    ended: bool = False  # its output ended (and was handled)
    calls: int = 0  # iterations it finished (ok or not)
    holding: report.Interval | None = None  # acquired, not yet released
    asking: tuple[str, float] | None = None  # (key, since): asked for the lock, not granted yet


@dataclass
class Slot:
    index: int
    target: str
    attempts: int = 0
    done: int = 0
    current: Instance | None = None
    finished: bool = False


@dataclass
class Run:
    """Everything seen so far."""

    intervals: list[report.Interval] = field(default_factory=list)
    kills: list[report.Kill] = field(default_factory=list)
    asks: list[report.Ask] = field(default_factory=list)  # never granted
    exits: dict[int, float] = field(default_factory=dict)  # instance -> when it was seen to end
    errors: Counter[str] = field(default_factory=Counter)
    conflicts_seen: int = 0
    stalled: float | None = None


class Driver:
    def __init__(self, a: argparse.Namespace, address: str, base_url: str, fake: bool,
                 targets: list[str], logs: Path) -> None:
        self.a, self.address, self.base_url, self.fake = a, address, base_url, fake
        self.logs = logs
        self.slots = [Slot(i, targets[i % len(targets)]) for i in range(a.workers)]
        self.instances: dict[int, Instance] = {}
        self.events: queue.Queue[tuple[int, dict[str, Any] | None]] = queue.Queue()
        self.run = Run()
        self.rng = random.Random(a.seed)
        self.stopping = False
        self.log: IO[str] | None = None  # --events
        self.killer: faults.Killer | None = None
        self.progress_at = 0.0  # the last "call" event: the stall timer counts from it

    def record(self, iid: int, ev: dict[str, Any]) -> None:
        if self.log is not None:
            inst = self.instances[iid]
            self.log.write(json.dumps({"worker": iid, "slot": inst.slot,
                                       "t": time.monotonic(), **ev}) + "\n")

    # --- processes ---------------------------------------------------------------------------
    def spawn(self, slot: Slot, iterations: int, barrier: bool) -> Instance:
        a = self.a
        iid = len(self.instances)
        cmd = [sys.executable, "-m", "threadlock.stress.worker", "--id", str(iid),
               "--target", slot.target, "--address", self.address, "--base-url", self.base_url,
               "--api", a.api, "--mode", a.mode, "--face", a.face,
               "--iterations", str(iterations), "--ttl", f"{a.ttl:g}", "--wait", f"{a.wait:g}",
               "--call-seconds", f"{a.call_seconds:g}", "--model", a.model,
               "--assistant-id", a.assistant_id,
               # Orphans (runs of a killed holder) are cancelled once clearly abandoned.
               "--orphan-run-age", f"{max(a.call_seconds * 2, 1.0):g}"]
        cmd += ["--fake"] if self.fake else []
        cmd += [] if barrier else ["--no-barrier"]
        if node.is_node(a.lang, slot.index):  # same arguments, same line protocol
            cmd = node.command(cmd)
        err = self.logs / f"worker-{iid}.log"
        with err.open("w") as err_file:
            # Own session: a terminal's Ctrl-C reaches only the driver, which stops them.
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=err_file, text=True, start_new_session=True)
        _live.add(proc)
        inst = Instance(iid, slot.index, proc, err)
        self.instances[iid] = inst
        slot.current = inst
        assert proc.stdout is not None
        threading.Thread(target=self._read, args=(iid, proc.stdout), daemon=True,
                         name=f"worker-{iid}").start()
        return inst

    def _read(self, iid: int, stdout: IO[str]) -> None:
        for line in stdout:
            try:
                self.events.put((iid, json.loads(line)))
            except ValueError:
                self.events.put((iid, {"ev": "junk", "line": line[:200]}))
        self.events.put((iid, None))

    def tell(self, inst: Instance, line: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            assert inst.proc.stdin is not None
            inst.proc.stdin.write(line + "\n")
            inst.proc.stdin.flush()

    def stop_all(self, grace: float = 3.0) -> None:
        """Let workers that said "done" exit (bounded by `grace`), then SIGKILL the rest."""
        end = time.monotonic() + grace
        for inst in self.instances.values():
            if inst.proc.poll() is None and self.slots[inst.slot].finished:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    inst.proc.wait(max(0.0, end - time.monotonic()))
            if inst.proc.poll() is None:
                inst.killed = True  # the driver's doing: its exit status is no worker error
                _kill(inst.proc)
            _live.discard(inst.proc)

    # --- events ------------------------------------------------------------------------------
    def handle(self, iid: int, ev: dict[str, Any] | None) -> None:
        inst = self.instances[iid]
        slot = self.slots[inst.slot]
        self.record(iid, ev or {"ev": "exit"})
        if ev is None:  # the process closed stdout: it ended
            self._ended(inst, slot)
            return
        kind = ev.get("ev")
        if kind == "ready":
            inst.ready = True
        elif kind == "asking":
            inst.asking = (ev["key"], ev["at"])
        elif kind == "acquired":
            tok = ev["token"]
            inst.asking = None
            inst.holding = report.Interval(iid, ev["key"], None if tok is None else int(tok),
                                           ev["requested"], ev["granted"], None)
            if self.killer is not None:
                self.killer.on_acquired(self, inst, ev["granted"], time.monotonic())
        elif kind == "released" and inst.holding is not None:
            h = inst.holding
            self.run.intervals.append(report.Interval(iid, h.key, h.token, h.requested,
                                                      h.start, ev["at"]))
            inst.holding = None
        elif kind == "call":
            # Progress, the only thing that resets the stall timer: ready/exit events of
            # workers that never finish an iteration (killed too soon) must not keep it alive.
            self.progress_at = time.monotonic()
            slot.attempts += 1
            inst.calls += 1
            self.run.conflicts_seen += int(ev.get("conflicts") or 0)
            if ev["ok"]:
                slot.done += 1
            else:
                self.run.errors[str(ev["error"])] += 1
            if inst.asking is not None:  # the wait ended without a grant
                key, since = inst.asking
                self.run.asks.append(report.Ask(iid, key, since, ev["at"],
                                                gave_up=ev["error"] == "ThreadBusy"))
                inst.asking = None
        elif kind == "done" and slot.current is inst:
            # Its locks are released and closed: the run need not wait for the interpreter
            # to exit (seconds on a loaded host); stop_all() reaps it.
            slot.finished = True
        elif kind == "junk":
            self.run.errors["worker_output"] += 1

    def _ended(self, inst: Instance, slot: Slot) -> None:
        code = inst.proc.wait()
        _live.discard(inst.proc)
        inst.ended = True
        self._close(inst, inst.killed_at if inst.fault else time.monotonic())
        if inst.killed:
            self._replace(inst, slot)
            return
        if code != 0:
            self.run.errors[f"worker_exit_{code}"] += 1
            print(f"stress: worker {inst.id} exited with {code}:\n{_tail(inst.stderr)}",
                  file=sys.stderr)
        if slot.current is inst:
            slot.finished = True

    def _close(self, inst: Instance, at: float) -> None:
        """Its output ended: a hold without a release ends `at` (report.closed() does it), a
        wait without a grant too. A kill (faults.py) is recorded now that every event written
        before it is handled, so whether it hit a holder comes from all of them."""
        self.run.exits[inst.id] = at
        held = inst.holding
        if held is not None:
            self.run.intervals.append(held)
            inst.holding = None
        if inst.asking is not None:
            self.run.asks.append(report.Ask(inst.id, inst.asking[0], inst.asking[1], at))
            inst.asking = None
        if inst.fault:
            key = held.key if held else None
            in_flight = inst.in_flight if key is not None else (
                None if inst.in_flight is None else False)
            self.run.kills.append(report.Kill(inst.id, inst.killed_at, key, in_flight))
            self.record(inst.id, {"ev": "killed", "at": inst.killed_at, "held": key,
                                  "in_flight": in_flight})

    def _replace(self, victim: Instance, slot: Slot) -> None:
        """Once a killed worker's last events are read (its attempts counted), start a new
        worker for the iterations it left."""
        left = 0 if self.a.iterations is None else self.a.iterations - slot.attempts
        if self.stopping or (self.a.iterations is not None and left <= 0):
            slot.finished = True
        else:
            self.spawn(slot, left, barrier=False)

    # --- the run -----------------------------------------------------------------------------
    def start(self) -> float:
        """Start every worker, wait until all are ready, release them together."""
        first = [self.spawn(s, self.a.iterations or 0, barrier=True) for s in self.slots]
        end = time.monotonic() + services.START_TIMEOUT + 10 * len(first)
        while not all(i.ready for i in first):
            try:
                iid, ev = self.events.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                late = [i for i in first if not i.ready]
                raise services.StartError(f"{len(late)} workers did not get ready in time:\n"
                                          + _tail(late[0].stderr)) from None
            self.handle(iid, ev)
            if ev is None:
                raise services.StartError(f"worker {iid} exited during start-up:\n"
                                          + _tail(self.instances[iid].stderr))
        t0 = time.monotonic()  # before the first "go": no event may come earlier
        for inst in first:
            self.tell(inst, "go")
        return t0

    def loop(self, t0: float, live: progress.Progress) -> None:
        a = self.a
        if a.kill_every:
            self.killer = faults.Killer(a.kill_every, a.call_seconds, self.rng, t0)
        # No iteration finished for this long: something hangs (a wait, a call and a replacement
        # that starts and waits out a dead holder's TTL all fit well inside).
        stall = a.wait + 2 * a.ttl + 60
        self.progress_at = t0
        while not all(s.finished for s in self.slots):
            now = time.monotonic()
            if a.duration is not None and not self.stopping and now - t0 >= a.duration:
                self.stopping = True
                for s in self.slots:
                    if s.current is None or s.finished:
                        continue
                    if s.current.ready:
                        self.tell(s.current, "stop")
                    else:  # a replacement still starting: it has done nothing, and would
                        s.current.killed = True  # miss "stop" if it came before its reader
                        _kill(s.current.proc)
            if self.killer is not None:
                self.killer.tick(self, now)
            live.maybe(self, now - t0)
            if now - self.progress_at > stall:
                self.run.stalled = stall
                print(f"stress: no iteration finished for {stall:g}s; giving up",
                      file=sys.stderr)
                return
            try:
                # Short: a kill is due inside a call of --call-seconds.
                iid, ev = self.events.get(timeout=0.02)
            except queue.Empty:
                continue
            self.handle(iid, ev)

    def finish(self) -> None:
        """After stop_all(): handle what the workers wrote before they ended (bounded), and
        end the holds and waits of any whose end was not seen at the stop."""
        self.stopping = True  # no replacements now
        end = time.monotonic() + 5
        while not all(i.ended for i in self.instances.values()) and time.monotonic() < end:
            try:
                iid, ev = self.events.get(timeout=0.1)
            except queue.Empty:
                continue
            self.handle(iid, ev)
        for inst in self.instances.values():
            if not inst.ended:
                inst.ended = True
                self._close(inst, time.monotonic())

    def not_done(self) -> dict[int, int]:
        """Per slot, iterations not done (duration mode: 1 for a slot that did not finish)."""
        if self.a.iterations is None:
            return {s.index: int(not s.finished) for s in self.slots}
        return {s.index: max(0, self.a.iterations - s.attempts) for s in self.slots}


def run(a: argparse.Namespace) -> int:
    """One stress run; returns the exit status (see the package docstring)."""
    with contextlib.ExitStack() as stack:
        logs = Path(stack.enter_context(services.workdir()))
        fake = a.openai_base_url is None
        base_url = (stack.enter_context(services.fake_openai(a.call_seconds)) if fake
                    else a.openai_base_url)
        address = (a.address if a.address is not None
                   else stack.enter_context(services.coordinator(a.backend, logs)))
        api_key = os.environ.get("OPENAI_API_KEY") or "stress"
        targets = services.create_targets(base_url, api_key, a.api, min(a.threads, a.workers))
        before = services.fake_stats(base_url)
        driver = Driver(a, address, base_url, before is not None, targets, logs)
        if a.events is not None:
            driver.log = stack.enter_context(open(a.events, "w", buffering=1))  # lines
        stack.callback(driver.stop_all)
        planned = a.workers * a.iterations if a.iterations is not None else None
        if not a.quiet:
            lang = "" if a.lang == "python" else f"{a.lang} "
            print(f"stress: {a.workers} {lang}{a.mode} workers, {a.api} API, {len(targets)} "
                  f"target(s), coordinator {address}, OpenAI {base_url}", file=sys.stderr)
        live = progress.Progress(a.quiet, base_url, planned,
                                 before["conflicts_total"] if before else None,
                                 guarded=a.mode == "guarded")
        t0 = driver.start()
        driver.loop(t0, live)
        elapsed = time.monotonic() - t0
        driver.stop_all()
        driver.finish()
        after = services.fake_stats(base_url) if before is not None else None
        conc_kind = "conversations" if a.api == "responses" else "threads"
        facts = report.RunFacts(
            mode=a.mode, api=a.api, workers=a.workers, planned=planned, elapsed=elapsed,
            ttl=a.ttl, handover_slack=a.handover_slack, fake=after is not None,
            conflicts_fake=(after["conflicts_total"] - before["conflicts_total"]
                            if after is not None and before is not None else None),
            max_concurrent={t: after["max_concurrent"][conc_kind].get(t, 0) for t in targets}
            if after is not None else {},
            conflicts_seen=driver.run.conflicts_seen, t0=t0, kills_asked=bool(a.kill_every),
            allow_busy=a.allow_busy, stalled=driver.run.stalled, not_done=driver.not_done())
        done = {s.index: s.done for s in driver.slots}
        result = report.analyse(facts, driver.run.intervals, driver.run.kills, done,
                                driver.run.errors, driver.run.asks, driver.run.exits)
        if a.json:
            print(json.dumps(result, indent=2))
        else:
            print(report.table(result))
        if not a.quiet and a.json:
            print(report.verdict_line(result), file=sys.stderr)
        return 1 if result["verdict"] == "fail" else 0
    raise AssertionError("unreachable")


def interrupted() -> int:
    """Exit status after Ctrl-C (the ExitStack in run() has stopped everything)."""
    print("stress: interrupted; workers and services stopped", file=sys.stderr)
    return 128 + signal.SIGINT
