"""Where the reader task waits while it must not read (a caller reads its own answer, backpressure); one
waiter, woken by `wake()`. Chosen once per connection for the running backend; no I/O here.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

from ._spawn import running_trio

if TYPE_CHECKING:
    import trio


class Parking(Protocol):
    async def wait(self) -> None:
        """Wait until `wake()` is called (a checkpoint: cancellable); only one task waits at a time."""

    def wake(self) -> None:
        """Wake the waiting task, if any; a call while nobody waits is not remembered."""


def for_running_backend() -> Parking:
    """A Parking for the event loop the calling task runs on.

    The reader parks (and is woken) about once per query on the pull path (issue 6): an anyio.Event costs a
    backend look-up through sniffio and two new objects each time; here a trio task waits in trio's own
    primitive (wait_task_rescheduled), and an asyncio task on a bare future.
    """
    if running_trio():
        return _TrioParking()
    return _AsyncioParking()


class _TrioParking:
    __slots__ = ("_current_task", "_reschedule", "_succeeded", "_task", "_wait_task_rescheduled")

    def __init__(self) -> None:
        import trio  # only where trio runs: imported already

        self._current_task = trio.lowlevel.current_task
        self._wait_task_rescheduled = trio.lowlevel.wait_task_rescheduled
        self._reschedule = trio.lowlevel.reschedule
        self._succeeded = trio.lowlevel.Abort.SUCCEEDED
        self._task: trio.lowlevel.Task | None = None

    async def wait(self) -> None:
        self._task = self._current_task()
        await self._wait_task_rescheduled(self._abort)

    def _abort(self, raise_cancel: object) -> trio.lowlevel.Abort:
        self._task = None  # cancelled: a later wake() must not reschedule a task that no longer waits
        return self._succeeded

    def wake(self) -> None:
        task = self._task
        if task is not None:
            self._task = None  # exactly one reschedule per wait
            self._reschedule(task)


class _AsyncioParking:
    __slots__ = ("_waiter",)

    def __init__(self) -> None:
        self._waiter: asyncio.Future[None] | None = None

    async def wait(self) -> None:
        waiter: asyncio.Future[None] = asyncio.Future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
