"""Cancelling a running query: anyio cancel scopes, fail_after, move_on_after and the `timeout=` argument.

Each case checks on the server (pg_stat_activity, from a second session) that the query was running, and that
after the cancellation the same backend is idle again well before the query's sleep ends: the driver sent a
CancelRequest and waited for the server, and the connection was neither dropped nor left out of sync.

The matching file of the sync driver is tests/sync/test_cancellation.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import pytest

import pgproto_anyio
from pgproto._shared._operations import BATCH_PART_ROWS
from pgproto_anyio import Connection, connect

from .support import TIMEOUT, backend_state, wait_until_running

pytestmark = pytest.mark.anyio

#: Longer than any test may take: a query that is still running at the end was not cancelled.
SLEEP = "SELECT pg_sleep(60)"


@pytest.fixture
async def admin(dsn: str) -> AsyncIterator[Connection]:
    async with connect(dsn) as connection:
        yield connection


@pytest.fixture
async def conn(dsn: str) -> AsyncIterator[Connection]:
    async with connect(dsn) as connection:
        yield connection


async def _assert_cancelled_and_usable(conn: Connection, admin: Connection, pid: int) -> None:
    assert not conn.is_closed(), "the connection was dropped instead of the query being cancelled"
    assert conn.get_server_pid() == pid
    state, _query = await backend_state(admin, pid)
    assert state == "idle", "the server still runs the cancelled query"
    assert await conn.fetchval("SELECT $1::text", "usable") == "usable"
    assert await conn.execute("SELECT 1") == "SELECT 1"


async def _cancel_when_running(
    conn: Connection, admin: Connection, query: str, cancel: Callable[[], object]
) -> None:
    await wait_until_running(admin, conn.get_server_pid(), query)
    cancel()


async def test_cancel_scope_cancelled_by_another_task(conn: Connection, admin: Connection) -> None:
    pid = conn.get_server_pid()
    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tasks:
            with anyio.CancelScope() as scope:
                tasks.start_soon(_cancel_when_running, conn, admin, SLEEP, scope.cancel)
                await conn.fetchval(SLEEP)
    assert scope.cancelled_caught
    await _assert_cancelled_and_usable(conn, admin, pid)


async def test_task_group_cancelled(conn: Connection, admin: Connection) -> None:
    pid = conn.get_server_pid()
    finished: list[str] = []

    async def query() -> None:
        await conn.execute(SLEEP)
        finished.append("query")  # never: cancelled

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(query)
            tasks.start_soon(_cancel_when_running, conn, admin, SLEEP, tasks.cancel_scope.cancel)
    assert finished == []
    await _assert_cancelled_and_usable(conn, admin, pid)


async def test_fail_after(conn: Connection, admin: Connection) -> None:
    pid = conn.get_server_pid()
    with anyio.fail_after(TIMEOUT):
        with pytest.raises(TimeoutError):
            with anyio.fail_after(0.5):
                await conn.fetch(SLEEP)
    await _assert_cancelled_and_usable(conn, admin, pid)


async def test_move_on_after(conn: Connection, admin: Connection) -> None:
    pid = conn.get_server_pid()
    with anyio.fail_after(TIMEOUT):
        with anyio.move_on_after(0.5) as scope:
            await conn.fetchrow(SLEEP)
    assert scope.cancelled_caught
    await _assert_cancelled_and_usable(conn, admin, pid)


def _calls(conn: Connection) -> dict[str, Callable[[float], Awaitable[object]]]:
    return {
        "execute": lambda timeout: conn.execute(SLEEP, timeout=timeout),
        "execute-with-args": lambda timeout: conn.execute("SELECT pg_sleep($1)", 60, timeout=timeout),
        "fetch": lambda timeout: conn.fetch(SLEEP, timeout=timeout),
        "fetchrow": lambda timeout: conn.fetchrow(SLEEP, timeout=timeout),
        "fetchval": lambda timeout: conn.fetchval(SLEEP, timeout=timeout),
        "executemany": lambda timeout: conn.executemany("SELECT pg_sleep($1)", [(60,), (60,)], timeout=timeout),
    }


@pytest.mark.parametrize("call", ["execute", "execute-with-args", "fetch", "fetchrow", "fetchval", "executemany"])
async def test_timeout_argument(conn: Connection, admin: Connection, call: str) -> None:
    pid = conn.get_server_pid()
    with anyio.fail_after(TIMEOUT):
        with pytest.raises(TimeoutError):
            await _calls(conn)[call](0.5)
    await _assert_cancelled_and_usable(conn, admin, pid)


#: A statement each call prepares once, so that the call after runs it from the statement cache: the calls'
#: fast path, which drives no operation generator.
CACHED_SLEEP = "SELECT pg_sleep($1)"


@pytest.mark.parametrize("how", ["cancel-scope", "timeout-argument"])
@pytest.mark.parametrize("method", ["execute", "fetch", "fetchrow", "fetchval"])
async def test_a_cached_statement_is_cancelled_on_the_server(
    conn: Connection, admin: Connection, method: str, how: str
) -> None:
    pid = conn.get_server_pid()
    call = getattr(conn, method)
    with anyio.fail_after(TIMEOUT):
        await call(CACHED_SLEEP, 0.0)
        if how == "timeout-argument":
            with pytest.raises(TimeoutError):
                await call(CACHED_SLEEP, 60.0, timeout=0.5)
        else:
            async with anyio.create_task_group() as tasks:
                with anyio.CancelScope() as scope:
                    tasks.start_soon(_cancel_when_running, conn, admin, CACHED_SLEEP, scope.cancel)
                    await call(CACHED_SLEEP, 60.0)
            assert scope.cancelled_caught
    await _assert_cancelled_and_usable(conn, admin, pid)


@pytest.mark.parametrize("method", ["execute", "fetch", "fetchrow", "fetchval"])
async def test_a_cancelled_caller_sends_nothing_for_a_cached_statement(conn: Connection, method: str) -> None:
    insert = "INSERT INTO sent_or_not VALUES ($1) RETURNING n"
    with anyio.fail_after(TIMEOUT):
        await conn.execute("CREATE TEMP TABLE sent_or_not (n int)")
        await getattr(conn, method)(insert, 1)
        with anyio.CancelScope() as scope:
            scope.cancel()
            await getattr(conn, method)(insert, 2)
        assert scope.cancelled_caught
        assert [row[0] for row in await conn.fetch("SELECT n FROM sent_or_not")] == [1]


@pytest.mark.parametrize("timeout", [0.0005, 0.002, 0.01, 0.05])
async def test_timeout_while_an_executemany_is_sent_in_parts(conn: Connection, timeout: float) -> None:
    # The deadline passes while parts are encoded and sent (no checkpoint there). The server may still
    # finish the batch before the CancelRequest lands (the usual race of a timeout): then all of it
    # stays. Never a part of it, and the connection is idle and in step with the server after.
    rows = [(i,) for i in range(20 * BATCH_PART_ROWS)]
    with anyio.fail_after(TIMEOUT):
        await conn.execute("CREATE TEMP TABLE parted (id int)")
        with contextlib.suppress(TimeoutError):
            await conn.executemany("INSERT INTO parted VALUES ($1)", rows, timeout=timeout)
        await _assert_idle_and_in_step(conn)
        assert await conn.fetchval("SELECT count(*) FROM parted") in (0, len(rows))


async def test_timeout_cancels_a_slow_executemany_sent_in_parts(conn: Connection) -> None:
    rows = [(i,) for i in range(4 * BATCH_PART_ROWS)]  # 2,000 rows of 1 ms each on the server
    with anyio.fail_after(TIMEOUT):
        await conn.execute("CREATE TEMP TABLE slow_parts (id int)")
        with pytest.raises(TimeoutError):
            await conn.executemany(
                "INSERT INTO slow_parts SELECT $1::int FROM pg_sleep(0.001)", rows, timeout=0.05
            )
        await _assert_idle_and_in_step(conn)
        assert await conn.fetchval("SELECT count(*) FROM slow_parts") == 0


async def test_timeout_while_parts_wait_for_a_full_socket(conn: Connection) -> None:
    # Parts of ~1 MB each: the socket fills and sending waits (shielded: half a message would corrupt the
    # stream) while the deadline passes. What was queued is still sent and answered in order: all of the
    # batch or none of it, and the next queries get their own answers.
    rows = [(i, "x" * 2000) for i in range(20 * BATCH_PART_ROWS)]
    with anyio.fail_after(TIMEOUT):
        await conn.execute("CREATE TEMP TABLE big_parts (id int, filler text)")
        with contextlib.suppress(TimeoutError):
            await conn.executemany("INSERT INTO big_parts VALUES ($1, $2)", rows, timeout=0.05)
        await _assert_idle_and_in_step(conn)
        assert await conn.fetchval("SELECT count(*) FROM big_parts") in (0, len(rows))


async def _assert_idle_and_in_step(conn: Connection) -> None:
    # Each answer goes to its own query (nothing left over from the cancelled batch), outside a transaction.
    assert await conn.fetchval("SELECT 'in step'") == "in step"
    assert await conn.fetchval("SELECT $1::int + 1", 41) == 42
    with pytest.raises(pgproto_anyio.PostgresError, match="only be used in transaction blocks"):
        await conn.execute("SAVEPOINT probe")  # refused outside a transaction block: the session is idle


async def test_timeout_that_does_not_expire(conn: Connection) -> None:
    assert await conn.fetchval("SELECT 42", timeout=TIMEOUT) == 42
    assert await conn.execute("SELECT 1", timeout=TIMEOUT) == "SELECT 1"
    assert len(await conn.fetch("SELECT generate_series(1, 10)", timeout=TIMEOUT)) == 10
    await conn.executemany("SELECT $1::int", [(1,), (2,)], timeout=TIMEOUT)


async def test_timeout_counts_the_wait_for_the_connection(conn: Connection, admin: Connection) -> None:
    # The query never reaches the server: the connection is busy with another one all along.
    await admin.execute("SELECT pg_advisory_lock(4242)")
    try:
        async with anyio.create_task_group() as tasks:
            results: list[object] = []

            async def holder() -> None:
                results.append(await conn.fetchval("SELECT pg_advisory_lock(4242)::text || 'locked'"))

            tasks.start_soon(holder)
            await wait_until_running(admin, conn.get_server_pid(), "SELECT pg_advisory_lock(4242)::text || 'locked'")
            with anyio.fail_after(TIMEOUT), pytest.raises(TimeoutError):
                await conn.fetchval("SELECT 'waiting'", timeout=0.2)
            await admin.execute("SELECT pg_advisory_unlock(4242)")
        assert results == ["locked"], "the query that held the connection was not disturbed"
    finally:
        await admin.execute("SELECT pg_advisory_unlock_all()")
    await conn.execute("SELECT pg_advisory_unlock_all()")
    assert await conn.fetchval("SELECT 1") == 1


async def test_cancelled_while_waiting_for_a_lock_on_the_server(conn: Connection, admin: Connection) -> None:
    pid = conn.get_server_pid()
    await admin.execute("SELECT pg_advisory_lock(4343)")
    try:
        query = "SELECT pg_advisory_lock(4343)"
        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tasks:
                with anyio.CancelScope() as scope:
                    tasks.start_soon(_cancel_when_running, conn, admin, query, scope.cancel)
                    await conn.execute(query)
        assert scope.cancelled_caught
        await _assert_cancelled_and_usable(conn, admin, pid)
        assert await conn.fetchval("SELECT pg_try_advisory_lock(4343)") is False  # never granted to conn
    finally:
        await admin.execute("SELECT pg_advisory_unlock_all()")


async def test_cancelled_inside_a_transaction_rolls_it_back(conn: Connection, admin: Connection) -> None:
    pid = conn.get_server_pid()
    await conn.execute("CREATE TEMP TABLE cancelled_tx (n int)")
    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tasks:
            with anyio.CancelScope() as scope:
                tasks.start_soon(_cancel_when_running, conn, admin, SLEEP, scope.cancel)
                async with conn.transaction():
                    await conn.execute("INSERT INTO cancelled_tx VALUES (1)")
                    await conn.execute(SLEEP)
    assert scope.cancelled_caught
    await _assert_cancelled_and_usable(conn, admin, pid)
    assert await conn.fetchval("SELECT count(*) FROM cancelled_tx") == 0
    async with conn.transaction():
        await conn.execute("INSERT INTO cancelled_tx VALUES (2)")
    assert await conn.fetchval("SELECT count(*) FROM cancelled_tx") == 1


async def test_cancelled_while_a_large_result_streams_in(conn: Connection, admin: Connection) -> None:
    pid = conn.get_server_pid()
    with anyio.fail_after(TIMEOUT):
        with anyio.move_on_after(0.3):
            await conn.fetch("SELECT g FROM generate_series(1, 100000000) g")
    await _assert_cancelled_and_usable(conn, admin, pid)
    rows = await conn.fetch("SELECT g FROM generate_series(1, 1000) g")
    assert [row[0] for row in rows] == list(range(1, 1001))


async def test_repeated_cancellations_do_not_hit_later_queries(conn: Connection, admin: Connection) -> None:
    pid = conn.get_server_pid()
    for round_number in range(5):
        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tasks:
                with anyio.CancelScope() as scope:
                    tasks.start_soon(_cancel_when_running, conn, admin, SLEEP, scope.cancel)
                    await conn.execute(SLEEP)
        assert scope.cancelled_caught
        # A late CancelRequest would fail this one with QueryCanceledError.
        assert await conn.fetchval("SELECT $1::int FROM pg_sleep(0.05)", round_number) == round_number
    await _assert_cancelled_and_usable(conn, admin, pid)


async def test_other_queries_queued_behind_a_cancelled_one_still_run(conn: Connection, admin: Connection) -> None:
    pid = conn.get_server_pid()
    results: list[object] = []

    async def queued(n: int) -> None:
        results.append(await conn.fetchval("SELECT $1::int", n))

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tasks:
            with anyio.CancelScope() as scope:
                tasks.start_soon(_cancel_when_running, conn, admin, SLEEP, scope.cancel)
                for n in range(3):
                    tasks.start_soon(queued, n)
                await conn.execute(SLEEP)
    assert sorted(results) == [0, 1, 2]  # type: ignore[type-var]  # ints, from the query
    await _assert_cancelled_and_usable(conn, admin, pid)


async def test_a_caller_cancelled_as_the_connection_is_handed_to_it_sends_nothing(conn: Connection) -> None:
    # The holder's query is logged once the connection has been handed to the next waiter, before that waiter
    # resumes: cancelled there, the waiter must neither send its query nor keep the connection from the next.
    holder, cancelled_query, after = "SELECT 'holder' FROM pg_sleep(0.05)", "SELECT 'cancelled'", "SELECT 'after'"
    logged: list[str] = []
    waiter = anyio.CancelScope()

    def log(query: str, args: tuple[object, ...], duration: float) -> None:
        logged.append(query)
        if query == holder:
            waiter.cancel()

    async def run(query: str, scope: anyio.CancelScope, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        with scope:
            task_status.started()  # no checkpoint from here to the wait for the connection: queued in order
            await conn.execute(query)

    conn.add_query_logger(log)
    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tasks:
            await tasks.start(run, holder, anyio.CancelScope())
            await tasks.start(run, cancelled_query, waiter)
            await tasks.start(run, after, anyio.CancelScope())
    assert waiter.cancelled_caught
    assert logged == [holder, after]
    assert await conn.fetchval("SELECT 1") == 1


async def test_timeout_on_a_closed_connection(dsn: str) -> None:
    conn = await connect(dsn)
    await conn.close()
    with pytest.raises(pgproto_anyio.ConnectionDoesNotExistError):
        await conn.execute(SLEEP, timeout=0.1)
