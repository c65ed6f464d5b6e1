"""Start a connection's background runner: in the caller's task group for `async with connect()`, or as
a task of its own for plain `await connect()` (an asyncio task, or a trio system task), so the reader
lives on while the application does anything else.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable

logger = logging.getLogger("pgproto")
#: Strong references: asyncio only keeps weak ones to running tasks.
_TASKS: set[asyncio.Task[None]] = set()


async def _guarded(runner: Callable[[], Awaitable[None]]) -> None:
    # A trio system task that raises would crash the whole run; nothing must escape.
    try:
        await runner()
    except Exception:
        logger.exception("pgproto connection runner failed")


def running_trio() -> bool:
    """The calling task runs on trio (not asyncio)."""
    trio = sys.modules.get("trio")
    if trio is None:
        return False
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True


def spawn_background(runner: Callable[[], Awaitable[None]]) -> None:
    """Run `runner` as a task owned by no task group of the application."""
    if running_trio():
        import trio

        trio.lowlevel.spawn_system_task(_guarded, runner, name="pgproto connection")
    else:
        task = asyncio.get_running_loop().create_task(_guarded(runner), name="pgproto connection")
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)
