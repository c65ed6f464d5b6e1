"""The reader task's parking place (pgproto_anyio._parking), on asyncio and on trio; no server needed."""

from __future__ import annotations

import anyio
import pytest

from pgproto_anyio._parking import for_running_backend

from .support import TIMEOUT

pytestmark = pytest.mark.anyio


async def test_wake_resumes_the_waiting_task() -> None:
    parking = for_running_backend()
    resumed: list[int] = []

    async def waiter() -> None:
        for round_ in range(3):
            await parking.wait()
            resumed.append(round_)

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(waiter)
            for round_ in range(3):
                await anyio.wait_all_tasks_blocked()
                assert resumed == list(range(round_))
                parking.wake()
                parking.wake()  # a second wake before the task ran is not remembered for its next wait
            await anyio.wait_all_tasks_blocked()
    assert resumed == [0, 1, 2]


async def test_a_wake_while_nobody_waits_is_not_remembered() -> None:
    parking = for_running_backend()
    parking.wake()
    with anyio.move_on_after(0.05) as scope:
        await parking.wait()
    assert scope.cancelled_caught


async def test_a_cancelled_wait_then_a_wake_is_harmless() -> None:
    parking = for_running_backend()
    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(parking.wait)
            await anyio.wait_all_tasks_blocked()
            tasks.cancel_scope.cancel()
        parking.wake()  # nobody waits any more: nothing to resume
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(parking.wait)
            await anyio.wait_all_tasks_blocked()
            parking.wake()
    await anyio.sleep(0)
