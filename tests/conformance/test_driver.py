"""The conformance driver itself (tests/conformance/driver.py): a broken adapter (hung,
crashed, answering garbage or Internal, not exiting 0 at EOF) fails the test promptly, with
its stderr in the failure, instead of hanging the suite."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sdk_adapters import Adapter

from conformance.driver import AdapterProcess

Failed = pytest.fail.Exception

# Each fake adapter prints a marker to stderr first, so a failure must show its stderr.
_PRELUDE = "import sys, time\nprint('marker-from-stderr', file=sys.stderr, flush=True)\n"
_FAKES = {
    "hang": "time.sleep(60)",
    "crash": "sys.stdin.readline(); sys.exit(3)",
    "garbage": "sys.stdin.readline(); print('hello', flush=True); time.sleep(60)",
    "internal": ("for line in sys.stdin:\n    print('{\"ok\": false, \"error\": {\"type\": "
                 "\"Internal\", \"message\": \"bug\"}}', flush=True)"),
    "bad-exit": "for line in sys.stdin:\n    print('{\"ok\": true}', flush=True)\nsys.exit(1)",
    "no-exit": "sys.stdin.readline(); time.sleep(60)",
}


def fake(kind: str, tmp_path: Path) -> AdapterProcess:
    return AdapterProcess(Adapter(kind, argv=(sys.executable, "-c", _PRELUDE + _FAKES[kind])),
                          tmp_path, "fake")


@pytest.mark.parametrize(("kind", "expected"), [
    ("hang", "no answer to status in time"),
    ("crash", "exited before answering status"),
    ("garbage", "not JSON"),
    ("internal", "Internal error answering"),
])
def test_a_broken_adapter_fails_with_its_stderr(kind: str, expected: str,
                                                tmp_path: Path) -> None:
    proc = fake(kind, tmp_path)
    try:
        with pytest.raises(Failed) as failure:
            proc.request({"cmd": "status", "key": "k"}, timeout=3)
        assert expected in str(failure.value)
        assert "marker-from-stderr" in str(failure.value)
    finally:
        proc.kill()


@pytest.mark.parametrize(("kind", "expected"), [
    ("bad-exit", "exited 1 after stdin closed"),
    ("no-exit", "did not exit within 1"),
])
def test_an_adapter_must_exit_0_at_eof(kind: str, expected: str, tmp_path: Path) -> None:
    proc = fake(kind, tmp_path)
    proc.exit_timeout = 1
    if kind == "bad-exit":
        assert proc.request({"cmd": "status", "key": "k"}, timeout=10) == {"ok": True}
    with pytest.raises(Failed) as failure:
        proc.close()
    assert expected in str(failure.value)
    assert proc.proc.poll() is not None  # killed, not left behind
