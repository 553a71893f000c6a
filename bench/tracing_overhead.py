"""What tracing costs when it is off (and on), per operation, in tight loops: CPU time, best of
five runs. No etcd, no network: the hooks alone, so that the figures are not lost in the noise
of a shared machine (docs/tracing.md quotes them).

    python bench/tracing_overhead.py            # this tree
    PYTHONPATH=/path/to/other/checkout/coordinator python bench/tracing_overhead.py
                                                # the etcd client of another tree (e.g. main)

1. The coordinator's etcd client `call()` on a stub that answers at once, traces off: the one
   attribute test this code adds.
2. The Python SDK's hooks of one acquire + release cycle (acquire span, an RPC span with its
   context injected, hold, release span, an RPC span): without the OpenTelemetry API, with the
   API and no provider (its default), and recording into an SDK provider (no export).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT / "coordinator", ROOT / "clients" / "python"):
    if str(path) not in sys.path:
        sys.path.append(str(path))  # after PYTHONPATH: another tree given there wins


def best(fn: Callable[[], None], n: int) -> float:
    """Microseconds of CPU per call of `fn`, the best of five runs of `n` calls."""
    runs = []
    for _ in range(5):
        start = time.process_time()
        for _ in range(n):
            fn()
        runs.append((time.process_time() - start) / n)
    return min(runs) * 1e6


def etcd_call(n: int) -> float:
    from threadlock.etcd.client import EtcdClient
    from threadlock.internal.etcd import rpc_pb2

    async def answer(request: Any, timeout: float) -> Any:
        return request

    client = EtcdClient(["127.0.0.1:1"], None, 5.0)  # never connects: the stub answers
    request = rpc_pb2.RangeRequest(key=b"k")

    def once() -> None:
        step = client.call(lambda _s: answer, request, time.monotonic() + 5, "read")
        with contextlib.suppress(StopIteration):  # the stub answers without suspending
            step.send(None)

    return best(once, n)


def sdk_cycle(n: int) -> float:
    from threadlock_client import _tracing

    def cycle() -> None:
        with _tracing.acquire("k", 0.0, "owner", False) as acquiring:
            with _tracing.rpc("Acquire", "127.0.0.1:50051"):
                pass
            acquiring.granted(1)
        hold = _tracing.Hold("k", 1)
        with hold.current():
            pass
        with _tracing.release("k"), _tracing.rpc("Release", "127.0.0.1:50051"):
            pass
        hold.released()

    return best(cycle, n)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few iterations (a smoke run)")
    n = 200 if parser.parse_args().quick else 20_000
    import threadlock.etcd.client as etcd_client
    print(f"etcd client call(), traces off ({etcd_client.__file__}): "
          f"{etcd_call(n):.3f} us")
    try:
        from threadlock_client import _tracing
    except ImportError:
        return 0  # a tree without SDK tracing
    module = vars(_tracing)
    saved = module["trace"]
    module["trace"] = None  # as if the API were not installed
    print(f"SDK hooks per acquire+release, no OpenTelemetry API: {sdk_cycle(n // 4):.2f} us")
    module["trace"] = saved
    if saved is None:
        return 0
    print(f"SDK hooks per acquire+release, API without a provider: {sdk_cycle(n // 4):.2f} us")
    from opentelemetry.sdk.trace import TracerProvider
    provider = TracerProvider()  # records, exports nowhere
    _tracing.provider = lambda: provider
    print(f"SDK hooks per acquire+release, recording: {sdk_cycle(n // 10):.2f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
