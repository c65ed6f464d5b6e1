"""`async for n in conn.notifications(*channels)`: what it yields, and that it UNLISTENs however it ends.

The matching file of the sync driver is tests/sync/test_iterator.py.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import AsyncIterator

import anyio
import pytest

import pgproto_anyio
from pgproto_anyio import Connection, Notification, connect

from .support import MODES, TIMEOUT, Mode, listening, open_conn, wait_until, wait_until_listening

pytestmark = pytest.mark.anyio


class Stop(Exception):
    """Raised in a loop body to end the iteration with an error."""


@pytest.fixture
async def other(dsn: str) -> AsyncIterator[Connection]:
    async with connect(dsn) as connection:
        yield connection


async def _notify_soon(
    conn: Connection, other: Connection, *pairs: tuple[str, str], listened: tuple[str, ...] = (), callbacks: int = 1
) -> None:
    """Send the notifications from `other` once `conn` listens (the iterator LISTENs at its first step)."""
    await wait_until_listening(conn, *(listened or {channel for channel, _ in pairs}), callbacks=callbacks)
    for channel, payload in pairs:
        await other.execute("SELECT pg_notify($1, $2)", channel, payload)


@pytest.mark.parametrize("mode", MODES)
async def test_yields_notifications_of_every_channel_in_order(other: Connection, dsn: str, mode: Mode) -> None:
    got: list[Notification] = []
    async with open_conn(dsn, mode) as conn:
        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(
                    functools.partial(
                        _notify_soon,
                        conn,
                        other,
                        ("it_a", "1"),
                        ("it_b", "2"),
                        ("it_a", "3"),
                        ("it_c", "no"),
                        listened=("it_a", "it_b"),
                    )
                )
                async for notification in conn.notifications("it_a", "it_b"):
                    got.append(notification)
                    if notification.payload == "1":
                        assert await listening(conn) == {"it_a", "it_b"}  # a query in the loop body
                    if len(got) == 3:
                        break
        assert [(n.channel, n.payload) for n in got] == [("it_a", "1"), ("it_b", "2"), ("it_a", "3")]
        assert all(isinstance(n, pgproto_anyio.Notification) for n in got)
        assert {n.pid for n in got} == {other.get_server_pid()}
        assert await listening(conn) == set()


async def test_unlistens_after_break_before_the_next_query(other: Connection, dsn: str) -> None:
    async with connect(dsn) as conn:
        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_notify_soon, conn, other, ("brk", "x"))
                async for _ in conn.notifications("brk", "brk2"):
                    break
        assert await listening(conn) == set()


async def test_unlistens_after_break_without_any_further_query(other: Connection, dsn: str) -> None:
    logged: list[str] = []
    async with connect(dsn) as conn:
        conn.add_query_logger(lambda query, args, duration: logged.append(query))
        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_notify_soon, conn, other, ("idle_brk", "x"))
                async for _ in conn.notifications("idle_brk"):
                    break
        await wait_until(lambda: 'UNLISTEN "idle_brk"' in logged)  # sent while the application sleeps
        assert await listening(conn) == set()


async def test_unlistens_after_an_error_in_the_loop_body(other: Connection, dsn: str) -> None:
    async with connect(dsn) as conn:
        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_notify_soon, conn, other, ("err", "x"))
                with pytest.raises(Stop):
                    async for _ in conn.notifications("err"):
                        raise Stop
        assert await listening(conn) == set()


async def test_unlistens_when_a_deadline_passes(dsn: str) -> None:
    async with connect(dsn) as conn:
        with anyio.fail_after(TIMEOUT):
            with anyio.move_on_after(0.2) as scope:
                async for _ in conn.notifications("deadline_it"):
                    pass
        assert scope.cancelled_caught
        assert await listening(conn) == set()


async def test_unlistens_when_the_task_is_cancelled_from_outside(dsn: str) -> None:
    async with connect(dsn) as conn:

        async def consume() -> None:
            async for _ in conn.notifications("outside"):
                pass

        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(consume)
                await wait_until(lambda: "outside" in conn._session.listeners.channels)
                tasks.cancel_scope.cancel()
        assert await listening(conn) == set()


async def test_aclose_and_aclosing(other: Connection, dsn: str) -> None:
    async with connect(dsn) as conn:
        iterator = conn.notifications("closing")
        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_notify_soon, conn, other, ("closing", "x"))
                async with contextlib.aclosing(iterator):
                    assert (await iterator.__anext__()).payload == "x"
                    assert await listening(conn) == {"closing"}
        assert await listening(conn) == set()
        with pytest.raises(StopAsyncIteration):
            await iterator.__anext__()
        await iterator.aclose()  # again: nothing to do


async def test_connection_lost_while_iterating(other: Connection, dsn: str) -> None:
    got: list[str] = []
    async with connect(dsn) as conn:

        async def notify_then_kill() -> None:
            await _notify_soon(conn, other, ("lost", "before"))
            await wait_until(lambda: got)
            await other.fetchval("SELECT pg_terminate_backend($1)", conn.get_server_pid())

        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(notify_then_kill)
                with pytest.raises(pgproto_anyio.ConnectionDoesNotExistError, match="was lost"):
                    async for notification in conn.notifications("lost"):
                        got.append(notification.payload)
        assert got == ["before"]
        assert conn.is_closed()


async def test_terminate_while_iterating_says_the_application_closed_it(other: Connection, dsn: str) -> None:
    got: list[str] = []
    closed_by_us = r"closed by close\(\) or terminate\(\) before"
    async with connect(dsn) as conn:
        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_notify_soon, conn, other, ("ended", "first"))
                with pytest.raises(pgproto_anyio.ConnectionDoesNotExistError, match=closed_by_us):
                    async for notification in conn.notifications("ended"):
                        got.append(notification.payload)
                        conn.terminate()
        assert got == ["first"]
        assert conn.is_closed()


async def test_on_a_closed_connection(dsn: str) -> None:
    conn = await connect(dsn)
    await conn.close()
    with pytest.raises(pgproto_anyio.ConnectionDoesNotExistError):
        async for _ in conn.notifications("closed"):
            pass


async def test_bad_channels(dsn: str) -> None:
    async with connect(dsn) as conn:
        with pytest.raises(pgproto_anyio.InterfaceError, match="at least one channel"):
            conn.notifications()
        with pytest.raises(pgproto_anyio.InterfaceError, match="invalid channel name"):
            conn.notifications("ok", "")
        with pytest.raises(pgproto_anyio.InterfaceError, match="must be a str"):
            conn.notifications(42)  # type: ignore[arg-type]  # what is tested
        assert await listening(conn) == set()


async def test_channel_name_with_quotes_and_spaces(other: Connection, dsn: str) -> None:
    name = 'odd "channel" name; DROP TABLE x'
    async with connect(dsn) as conn:
        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_notify_soon, conn, other, (name, "quoted"))
                async for notification in conn.notifications(name):
                    assert (notification.channel, notification.payload) == (name, "quoted")
                    assert await listening(conn) == {name}
                    break
        assert await listening(conn) == set()


async def test_two_iterators_and_a_callback_share_a_channel(other: Connection, dsn: str) -> None:
    by_callback: list[str] = []
    first: list[str] = []
    second: list[str] = []
    async with connect(dsn) as conn:
        await conn.add_listener("shared", lambda channel, payload: by_callback.append(payload))

        async def consume(into: list[str], count: int) -> None:
            async for notification in conn.notifications("shared"):
                into.append(notification.payload)
                if len(into) == count:
                    break

        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(consume, first, 1)
                tasks.start_soon(consume, second, 2)
                tasks.start_soon(
                    functools.partial(_notify_soon, conn, other, ("shared", "1"), ("shared", "2"), callbacks=3)
                )
        assert (first, second, by_callback) == (["1"], ["1", "2"], ["1", "2"])
        assert await listening(conn) == {"shared"}, "the callback still listens"


async def test_a_slow_consumer_gets_every_channel_in_server_order(other: Connection, dsn: str) -> None:
    count = 1500
    got: list[tuple[str, int]] = []
    # Past max_pending_notifications the reader pauses (backpressure) until the consumer catches up.
    async with connect(dsn, max_pending_notifications=50) as conn:
        with anyio.fail_after(TIMEOUT * 3):
            async with anyio.create_task_group() as tasks:

                async def flood() -> None:
                    await wait_until_listening(conn, "order_0", "order_1", "order_2")
                    await other.execute(
                        "SELECT pg_notify('order_' || (g % 3), g::text) FROM generate_series(1, $1::int) g", count
                    )

                tasks.start_soon(flood)
                async for notification in conn.notifications("order_0", "order_1", "order_2"):
                    got.append((notification.channel, int(notification.payload)))
                    if len(got) % 100 == 0:
                        await anyio.sleep(0.01)
                        assert await conn.fetchval("SELECT $1::int", len(got)) == len(got)
                    if len(got) == count:
                        break
        assert got == [(f"order_{g % 3}", g) for g in range(1, count + 1)]
        assert conn._pending_notifications == 0


async def test_an_iterator_that_was_never_started_does_nothing(dsn: str) -> None:
    async with connect(dsn) as conn:
        iterator = conn.notifications("never")
        del iterator
        gc.collect()
        assert await listening(conn) == set()
