"""Helpers shared by the anyio driver's server tests: opening a connection both ways, waiting with a deadline,
and looking at a backend from another session."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import anyio
import pytest

import pgproto_anyio
from pgproto_anyio import Connection

Mode = Literal["await", "async with"]
MODES: tuple[Mode, ...] = ("await", "async with")
#: Deadline of any single wait in a test: long enough for a loaded machine, short enough to fail a hang fast.
TIMEOUT = 10.0


@contextlib.asynccontextmanager
async def open_conn(dsn: str, mode: Mode = "async with", **options: Any) -> AsyncIterator[Connection]:
    """A connection opened with `await connect()` (closed in finally) or `async with connect()`."""
    if mode == "await":
        conn = await pgproto_anyio.connect(dsn, **options)
        try:
            yield conn
        finally:
            await conn.close()
    else:
        async with pgproto_anyio.connect(dsn, **options) as conn:
            yield conn


async def wait_until(predicate: Callable[[], object], timeout: float = TIMEOUT) -> None:
    """Sleep in small steps (the application awaiting something unrelated) until `predicate()` holds."""
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.005)


async def wait_until_listening(conn: Connection, *channels: str, callbacks: int = 1) -> None:
    """Wait until each of `channels` has `callbacks` callbacks on `conn` and no request of `conn` is in flight:
    its LISTENs have been answered, so a notification sent now is delivered (none sent earlier would be)."""

    def ready() -> bool:
        registry = conn._session.listeners
        enough = all(len(registry.channel_callbacks(channel)) >= callbacks for channel in channels)
        return enough and not conn._lock.locked()

    await wait_until(ready)


async def backend_state(admin: Connection, pid: int) -> tuple[object, object]:
    """(state, query) of backend `pid` in pg_stat_activity, or (None, None) once it is gone."""
    row = await admin.fetchrow("SELECT state, query FROM pg_stat_activity WHERE pid = $1", pid)
    return (None, None) if row is None else (row["state"], row["query"])


async def wait_until_running(admin: Connection, pid: int, query: str) -> None:
    """Wait until backend `pid` is executing `query` (so a cancellation hits it on the server)."""
    with anyio.fail_after(TIMEOUT):
        while await backend_state(admin, pid) != ("active", query):
            await anyio.sleep(0.01)


async def listening(conn: Connection) -> set[str]:
    """The channels the server says this session listens to."""
    return {str(row[0]) for row in await conn.fetch("SELECT pg_listening_channels()")}


def logged_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """ERROR records on logger `pgproto` or a child of it."""
    return [r for r in caplog.records if r.name.split(".")[0] == "pgproto" and r.levelno == logging.ERROR]
