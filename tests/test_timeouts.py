"""`within`: a bounded wait that never swallows a cancellation (Python 3.11's wait_for does,
when the result arrives in the loop turn the caller is cancelled: CPython gh-86296)."""

from __future__ import annotations

import asyncio

import pytest

from threadlock.timeouts import within

pytestmark = pytest.mark.asyncio


async def _cancel_as_the_answer_arrives(wait: object) -> asyncio.Task[int]:
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(wait(fut, 10))  # type: ignore[operator]
    await asyncio.sleep(0)  # the task now awaits fut
    fut.set_result(1)  # the answer arrives...
    task.cancel()  # ...and the caller is cancelled before it runs again
    await asyncio.gather(task, return_exceptions=True)
    return task


async def test_a_cancel_that_meets_the_answer_is_never_swallowed() -> None:
    task = await _cancel_as_the_answer_arrives(within)
    assert task.cancelled()


async def test_the_race_is_real_for_wait_for_on_this_python() -> None:
    """The reason `within` exists: on 3.11 wait_for hands back the answer instead."""
    import sys
    task = await _cancel_as_the_answer_arrives(asyncio.wait_for)
    assert task.cancelled() is (sys.version_info >= (3, 12))


async def test_times_out_and_cancels_the_future() -> None:
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    with pytest.raises(TimeoutError):
        await within(fut, 0.05)
    assert fut.cancelled()
    kept: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    with pytest.raises(TimeoutError):
        await within(asyncio.shield(kept), 0.0)  # no time left: still a clean TimeoutError
    assert not kept.done()


async def test_an_answer_in_time_is_returned() -> None:
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(0.01, fut.set_result, 7)
    assert await within(fut, 10) == 7
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    done.set_result(8)
    assert await within(done, 0) == 8  # already answered: no time needed
