"""The connection's lock: one operation at a time, the others in FIFO order; on asyncio and on trio.

anyio.Lock(fast_acquire=True) does the same, but its uncontended `async with` costs two coroutines, three
`current_task()` look-ups and a cancellation check that finds the backend each time (issue 6: about 5% of
a `SELECT 1`). Here an uncontended acquire is a flag test inline in the caller (`Connection._run`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable

import anyio


class Lock:
    """A FIFO lock without owner checks; the holder passes it on (`release`) straight to the next waiter.

    Args:
        checkpoint_if_cancelled: the backend's check, run once the lock is taken, as anyio.Lock's
            acquire does: a cancelled task never gets to send its request.
    """

    __slots__ = ("_checkpoint_if_cancelled", "_waiters", "held")

    def __init__(self, checkpoint_if_cancelled: Callable[[], Awaitable[None]]) -> None:
        #: Taken by a task; stays True while `release` hands the lock to a waiter.
        self.held = False
        self._waiters: deque[anyio.Event] = deque()
        self._checkpoint_if_cancelled = checkpoint_if_cancelled

    def locked(self) -> bool:
        return self.held

    async def wait(self) -> None:
        """Wait for the lock while it is held (`held`); it is this task's when this returns."""
        turn = anyio.Event()
        self._waiters.append(turn)
        try:
            await turn.wait()
        except BaseException:
            if turn.is_set():  # handed over as the cancellation came: pass it on, or nobody ever releases it
                self.release()
            else:
                self._waiters.remove(turn)
            raise

    def release(self) -> None:
        if self._waiters:
            self._waiters.popleft().set()  # `held` stays True: the lock is that waiter's now
        else:
            self.held = False

    async def __aenter__(self) -> None:
        if self.held:
            await self.wait()
        else:
            self.held = True
        try:
            await self._checkpoint_if_cancelled()
        except BaseException:
            self.release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self.release()
