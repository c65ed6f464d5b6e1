"""The connection's lock (pgproto_anyio/_lock.py) on its own, without a server: FIFO order and hand-over under
cancellation. The connection-level cases (a cancelled caller sends nothing) are in test_cancellation.py."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from pgproto_anyio._lock import Lock

from .support import TIMEOUT, wait_until

pytestmark = pytest.mark.anyio


async def test_waiters_get_the_lock_in_the_order_they_asked() -> None:
    lock = Lock(anyio.lowlevel.checkpoint_if_cancelled)
    order: list[int] = []

    async def take(n: int, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        task_status.started()  # no checkpoint before the wait below: the tasks queue in start order
        async with lock:
            order.append(n)
            await anyio.sleep(0)

    with anyio.fail_after(TIMEOUT):
        await lock.__aenter__()
        async with anyio.create_task_group() as tasks:
            for n in range(5):
                await tasks.start(take, n)
            assert order == []
            await lock.__aexit__()
    assert order == [0, 1, 2, 3, 4]
    assert not lock.locked()


async def test_a_waiter_cancelled_as_the_lock_is_handed_to_it_passes_it_on() -> None:
    lock = Lock(anyio.lowlevel.checkpoint_if_cancelled)
    got: list[str] = []
    first = anyio.CancelScope()

    async def take(name: str, scope: anyio.CancelScope) -> None:
        with scope:
            async with lock:
                got.append(name)

    with anyio.fail_after(TIMEOUT):
        await lock.__aenter__()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(take, "first", first)
            await wait_until(lambda: len(lock._waiters) == 1)
            tasks.start_soon(take, "second", anyio.CancelScope())
            await wait_until(lambda: len(lock._waiters) == 2)
            # In one step: the first waiter's wait is cancelled, then the lock is handed to it anyway. It must
            # pass the lock on as it unwinds, or the second waiter (and the connection) would wait forever.
            first.cancel()
            await lock.__aexit__()
    assert first.cancelled_caught
    assert got == ["second"]
    assert not lock.locked()


async def test_a_waiter_cancelled_before_the_hand_over_leaves_the_queue() -> None:
    lock = Lock(anyio.lowlevel.checkpoint_if_cancelled)
    with anyio.fail_after(TIMEOUT):
        await lock.__aenter__()
        with anyio.move_on_after(0.01) as scope:
            await lock.__aenter__()
        assert scope.cancelled_caught
        assert not lock._waiters
        await lock.__aexit__()
        assert not lock.locked()


async def test_a_cancelled_task_does_not_take_a_free_lock() -> None:
    lock = Lock(anyio.lowlevel.checkpoint_if_cancelled)
    with anyio.CancelScope() as scope:
        scope.cancel()
        async with lock:
            pytest.fail("a cancelled task took the lock")
    assert scope.cancelled_caught
    assert not lock.locked()
