"""The OpenAI guard of the TypeScript SDK (`@threadlock/client/openai`) with the real openai-node
7.x client, against a `threadlock serve` process per backend (memory and real etcd) and the
project's fake OpenAI (which answers OpenAI's real busy 400s and counts them). The node:test
files run with Node 22 from scripts/setup-node.sh, told where by THREADLOCK_TEST_* variables;
a failing node test fails here with the node output."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from node_tools import NEST, SDK, node_setup, run_node

from threadlock.fake_openai import FakeOpenAI

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="session")
def node_env() -> dict[str, str]:
    return node_setup()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI.start_in_thread(response_seconds=0.2, run_seconds=0.2) as f:
        yield f


def test_openai_guard_node_suite(node_env: dict[str, str], served: str, fake: FakeOpenAI,
                                 request: pytest.FixtureRequest) -> None:
    """test/openai-guard.test.mjs: plain, background and streamed responses, Assistants
    messages/runs/streams and send(), the busy-400 retry, orphan-run cancel, and lease.signal
    aborting an in-flight request when the lease is lost, on each backend."""
    backend = request.node.callspec.params["served"]
    out = run_node(["node", "--test", "--test-concurrency=1", "--test-reporter=spec",
                    "test/openai-guard.test.mjs"],
                   {**node_env, "THREADLOCK_TEST_ADDRESS": served,
                    "THREADLOCK_TEST_BACKEND": backend,
                    "THREADLOCK_TEST_FAKE_OPENAI": fake.base_url}, SDK, timeout=500)
    assert "fail 0" in out and "pass 0" not in out, out


@pytest.fixture(scope="session")
def nest_env(node_env: dict[str, str]) -> dict[str, str]:
    """The NestJS example installed from its lockfile (the SDK as a packed copy of the fresh
    build, install-links) and compiled by tsc (Nest's decorators need it)."""
    run_node(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], node_env, NEST,
             timeout=600)
    run_node(["npm", "run", "build"], node_env, NEST)
    # The SDK's eslint config skips examples/ (their dependencies are not installed by
    # `npm ci` of the SDK); linted here, once they are.
    run_node(["npx", "eslint", "--no-ignore", "examples/nestjs/src", "examples/nestjs/test"],
             node_env, SDK)
    return node_env


def test_nestjs_thread_lock_module(nest_env: dict[str, str], served: str, fake: FakeOpenAI,
                                   request: pytest.FixtureRequest) -> None:
    """examples/nestjs: ThreadLockModule / ThreadLockService in a Nest testing module with the
    seed's surface (lockThread, acquire/release, isBusy, checkAndWaitForActiveRuns,
    getActiveThreadsStatus, chat / chatWithImage / chatWithFile; the seed's busy message)."""
    out = run_node(["node", "--test", "--test-concurrency=1", "--test-reporter=spec",
                    "dist/test/thread-lock.service.test.js"],
                   {**nest_env, "THREADLOCK_TEST_ADDRESS": served,
                    "THREADLOCK_TEST_BACKEND": request.node.callspec.params["served"],
                    "THREADLOCK_TEST_FAKE_OPENAI": fake.base_url}, NEST, timeout=300)
    assert "fail 0" in out and "pass 0" not in out, out


def test_openai_subpath_types_and_lint(node_env: dict[str, str]) -> None:
    """The guard's sources are tsc --strict and eslint clean, and the ./openai subpath resolves
    for require() (CJS) and import (ESM) alike."""
    run_node(["npx", "tsc", "--noEmit", "-p", "tsconfig.json"], node_env, SDK)
    run_node(["npx", "eslint", "src/openai", "test/openai-helpers.mjs",
              "test/openai-guard.test.mjs"], node_env, SDK)
    cjs = run_node(["node", "-e", "const g = require('@threadlock/client/openai');"
                    "console.log(typeof g.guardOpenAI, typeof g.GuardedStream)"], node_env, SDK)
    assert cjs.split() == ["function", "function"]
    esm = run_node(["node", "--input-type=module", "-e",
                    "const g = await import('@threadlock/client/openai');"
                    "console.log(typeof g.guardOpenAI)"], node_env, SDK)
    assert esm.strip() == "function"
