"""`threadlock stress --lang node|mixed`: Node workers (clients/typescript/stress/worker.mjs, the
TypeScript SDK and its OpenAI guard) alone and alternating with Python workers on the same
conversation, through the real command (embedded or etcd coordinator, fake OpenAI)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from node_tools import node_setup
from test_stress_tool import stress, stress_json

from threadlock.stress import node


@pytest.fixture(scope="module", autouse=True)
def node_env() -> dict[str, str]:
    """Node 22 installed (.tools/node22, where the driver finds it) and the SDK built."""
    return node_setup()


def _ready_langs(events: Path) -> dict[int, str]:
    """Worker slot -> language, from the workers' "ready" events (the Node worker adds lang)."""
    langs = {}
    for line in events.read_text().splitlines():
        ev = json.loads(line)
        if ev.get("ev") == "ready":
            langs[ev["slot"]] = ev.get("lang", "python")
    return langs


def test_node_reads_the_same_monotonic_clock_as_python(node_env: dict[str, str]) -> None:
    """The driver compares worker times across processes and languages: a Node worker's
    process.hrtime.bigint() (CLOCK_MONOTONIC on Linux) falls between two readings of Python's
    time.monotonic() around it (a different clock would be off by seconds or more)."""
    node_bin = node.node_binary()
    assert node_bin is not None
    for _ in range(3):
        before = time.monotonic()
        out = subprocess.run([node_bin, "-e", "console.log(Number(process.hrtime.bigint()) / 1e9)"],
                             capture_output=True, text=True, check=True, timeout=60).stdout
        after = time.monotonic()
        assert before <= float(out) <= after, (before, out, after)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("api", ["responses", "assistants"])
def test_mixed_python_and_node_guarded_workers_never_collide(api: str, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    code, r = stress_json("--workers", "4", "--iterations", "3", "--lang", "mixed", "--api", api,
                          "--events", str(events))
    assert code == 0, r
    assert _ready_langs(events) == {0: "python", 1: "node", 2: "python", 3: "node"}
    assert r["verdict"] == "pass", r
    assert r["iterations"]["done"] == 12 and r["iterations"]["failed"] == 0, r
    assert r["conflicts"] == 0 and r["conflicts_source"] == "fake OpenAI", r
    assert r["overlaps"] == 0 and r["token_violations"] == 0, r
    assert list(r["max_concurrent"].values()) == [1], r
    _print("mixed guarded", api, r)


@pytest.mark.timeout(240)
def test_mixed_unguarded_workers_collide() -> None:
    code, r = stress_json("--workers", "4", "--iterations", "3", "--lang", "mixed",
                          "--mode", "unguarded", "--call-seconds", "0.5")
    assert code == 0, r  # a demonstration, not a failure
    assert r["verdict"] == "demo" and r["conflicts"] > 0 and r["overlaps"] > 0, r
    assert max(r["max_concurrent"].values()) >= 2, r
    _print("mixed unguarded", "responses", r)


@pytest.mark.etcd
@pytest.mark.timeout(240)
def test_a_killed_node_holder_hands_over_within_ttl_and_slack(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    code, r = stress_json("--workers", "3", "--iterations", "3", "--lang", "node",
                          "--call-seconds", "0.6", "--ttl", "2", "--kill-every", "4",
                          "--backend", "etcd", "--seed", "7", "--events", str(events))
    assert code == 0, r
    assert set(_ready_langs(events).values()) == {"node"}
    assert r["iterations"]["done"] == 9 and r["iterations"]["failed"] == 0, r
    kills = r["kills"]
    assert kills["total"] >= 1 and kills["holders"] >= 1 and kills["in_flight"] >= 1, r
    assert any(h["status"] == "ok" for h in kills["handovers_s"]), r
    for h in kills["handovers_s"]:
        assert h["status"] in ("ok", "no waiter"), r
        assert h["status"] != "ok" or h["seconds"] <= 2 + 1.5, r
    assert r["conflicts"] == 0 and r["overlaps"] == 0 and r["token_violations"] == 0, r
    print(f"killed Node holders: handovers {[h.get('seconds') for h in kills['handovers_s']]} s "
          "(TTL 2 s, slack 1.5 s)")


def test_lang_is_checked() -> None:
    proc = stress("--lang", "ruby")
    assert proc.returncode == 2 and "--lang" in proc.stderr, proc.stderr


def _print(what: str, api: str, r: dict[str, Any]) -> None:
    print(f"{what} ({api}): conflicts {r['conflicts']}, overlaps {r['overlaps']}, "
          f"token violations {r.get('token_violations')}")
