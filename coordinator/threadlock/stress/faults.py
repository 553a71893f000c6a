"""--kill-every: when, and whom, the driver SIGKILLs.

About every X seconds one worker is killed, by preference a lock holder in the middle of its
OpenAI call: once a kill is due, the next grant to an eligible worker picks it as the victim
and a moment inside its call (grant + 10-90 % of --call-seconds) as the time of death. That is
the case the tool is for (a holder dies with a response or run in flight, and the next holder
must not meet it); a fixed period alone lines kills up with the grants of a steady run.
If no eligible grant comes for X seconds after the kill was due, any eligible worker is killed.

Eligible: ready, alive, not finishing, and it has finished an iteration since it started.
Without that rule kills could outpace replacements (each needs start-up plus up to a TTL
before its first call) and an --iterations run would never end; with it, every worker killed
has moved its slot's count on by at least one. The next kill is due X seconds after the last.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING

from threadlock.stress import services

if TYPE_CHECKING:
    from threadlock.stress.driver import Driver, Instance


class Killer:
    def __init__(self, every: float, call_seconds: float, rng: random.Random,
                 start: float) -> None:
        self.every, self.call_seconds, self.rng = every, call_seconds, rng
        self.due = start + every
        self.victim: Instance | None = None
        self.strike_at = 0.0

    def eligible(self, d: Driver, inst: Instance) -> bool:
        slot = d.slots[inst.slot]
        return (slot.current is inst and not slot.finished and inst.ready and not inst.killed
                and inst.calls > 0 and inst.proc.poll() is None)

    def on_acquired(self, d: Driver, inst: Instance, granted: float, now: float) -> None:
        """A grant was seen: if a kill is due and no victim is chosen yet, it is this one."""
        if self.victim is None and now >= self.due and self.eligible(d, inst):
            self.victim = inst
            self.strike_at = granted + self.rng.uniform(0.1, 0.9) * self.call_seconds

    def tick(self, d: Driver, now: float) -> None:
        if d.stopping:
            return
        if self.victim is not None:
            if now < self.strike_at:
                return
            victim, self.victim = self.victim, None
            if self.eligible(d, victim):
                self._strike(d, victim, now)
            return  # else it ended first: the next eligible grant is the next chance
        if now >= self.due + self.every:  # no eligible grant came: anyone eligible will do
            alive = [s.current for s in d.slots
                     if s.current is not None and self.eligible(d, s.current)]
            if alive:
                self._strike(d, self.rng.choice(alive), now)

    def _strike(self, d: Driver, victim: Instance, now: float) -> None:
        """SIGKILL `victim`; the driver records the kill and starts a replacement once the
        victim's last events are read (Driver._close, Driver._replace)."""
        victim.killed = victim.fault = True
        victim.proc.kill()
        victim.proc.wait()
        victim.killed_at = time.monotonic()
        self.due = victim.killed_at + self.every
        if d.fake:  # did it leave work in flight at OpenAI? (with --threads > 1 and the
            stats = services.fake_stats(d.base_url)  # responses API, anyone's counts)
            if stats is not None:
                key = d.slots[victim.slot].target
                active = stats["active"]
                victim.in_flight = bool(active["responses"] if d.a.api == "responses"
                                        else [r for r in active["runs"] if key in r])
