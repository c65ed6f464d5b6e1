"""Log listeners (every NoticeResponse) and query loggers (every query), against a real server.

The matching file of the sync driver is tests/sync/test_loggers.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import anyio
import pytest

import pgproto_anyio
from pgproto_anyio import Connection, Notice, connect

from .support import MODES, TIMEOUT, Mode, logged_errors, open_conn, wait_until, wait_until_running

pytestmark = pytest.mark.anyio

Logged = list[tuple[str, tuple[object, ...], float]]


@pytest.fixture
async def conn(dsn: str) -> AsyncIterator[Connection]:
    async with connect(dsn) as connection:
        yield connection


# -- log listeners -------------------------------------------------------------------------------------------

RAISES = """
DO $$
BEGIN
    RAISE INFO 'an info';
    RAISE NOTICE 'a notice' USING DETAIL = 'some detail', HINT = 'some hint';
    RAISE WARNING 'a warning' USING ERRCODE = '01P01';
    RAISE LOG 'a log line';
    RAISE DEBUG 'a debug line';
END
$$
"""


async def test_notices_with_their_fields_before_the_call_returns(conn: Connection) -> None:
    notices: list[Notice] = []
    conn.add_log_listener(notices.append)
    await conn.execute(RAISES)
    # No waiting: delivered before execute() returned. LOG and DEBUG are below client_min_messages.
    assert [(n.severity, n.message) for n in notices] == [
        ("INFO", "an info"),
        ("NOTICE", "a notice"),
        ("WARNING", "a warning"),
    ]
    info, notice, warning = notices
    assert (notice.detail, notice.hint, notice.sqlstate) == ("some detail", "some hint", "00000")
    assert (info.detail, info.hint, info.position) == (None, None, None)
    assert warning.sqlstate == "01P01"
    assert "PL/pgSQL function inline_code_block" in str(notice.context)
    assert all(n.severity_nonlocalized == n.severity for n in notices)


async def test_every_severity_the_server_sends(conn: Connection) -> None:
    notices: list[Notice] = []
    conn.add_log_listener(notices.append)
    await conn.execute("SET client_min_messages = debug1")
    await conn.execute(RAISES)
    assert [n.severity for n in notices] == ["INFO", "NOTICE", "WARNING", "LOG", "DEBUG"]


async def test_notices_from_every_kind_of_call(conn: Connection) -> None:
    notices: list[str] = []
    conn.add_log_listener(lambda notice: notices.append(str(notice.message)))
    await conn.execute("CREATE TEMP TABLE noisy (n int)")
    await conn.execute(
        "CREATE FUNCTION pg_temp.noisy(n int) RETURNS int LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE NOTICE 'noisy %', n; RETURN n; END $$"
    )
    await conn.execute("SELECT pg_temp.noisy(1)")
    assert notices == ["noisy 1"]
    await conn.execute("SELECT pg_temp.noisy($1)", 2)
    assert notices[-1] == "noisy 2"
    assert await conn.fetch("SELECT pg_temp.noisy($1)", 3) == [(3,)]
    assert notices[-1] == "noisy 3"
    assert await conn.fetchrow("SELECT pg_temp.noisy($1)", 4) == (4,)
    assert notices[-1] == "noisy 4"
    assert await conn.fetchval("SELECT pg_temp.noisy($1)", 5) == 5
    assert notices[-1] == "noisy 5"
    await conn.executemany("SELECT pg_temp.noisy($1)", [(6,), (7,)])
    assert notices[-2:] == ["noisy 6", "noisy 7"]
    await conn.execute("DROP TABLE IF EXISTS no_such_table_here")  # the server's own notice
    assert notices[-1] == 'table "no_such_table_here" does not exist, skipping'


async def test_notices_before_an_error_are_delivered_before_it_raises(conn: Connection) -> None:
    notices: list[Notice] = []
    conn.add_log_listener(notices.append)
    with pytest.raises(pgproto_anyio.RaiseError):
        await conn.execute("DO $$ BEGIN RAISE WARNING 'first'; RAISE EXCEPTION 'then fail'; END $$")
    assert [n.message for n in notices] == ["first"]


async def test_several_log_listeners_in_order_remove_and_duplicates(conn: Connection) -> None:
    calls: list[str] = []

    def first(notice: Notice) -> None:
        calls.append(f"first:{notice.message}")

    def second(notice: Notice) -> None:
        calls.append(f"second:{notice.message}")

    def never_added(notice: Notice) -> None:
        raise AssertionError("never added")

    conn.add_log_listener(first)
    conn.add_log_listener(second)
    conn.add_log_listener(first)  # a second add changes nothing
    conn.remove_log_listener(never_added)  # no-op
    await conn.execute("DO $$ BEGIN RAISE NOTICE 'a'; END $$")
    assert calls == ["first:a", "second:a"]
    conn.remove_log_listener(first)
    conn.remove_log_listener(first)
    await conn.execute("DO $$ BEGIN RAISE NOTICE 'b'; END $$")
    assert calls == ["first:a", "second:a", "second:b"]


async def test_log_listeners_must_be_plain_functions(conn: Connection) -> None:
    async def coroutine_function(notice: Notice) -> None:
        pass

    with pytest.raises(TypeError, match="plain function"):
        conn.add_log_listener(coroutine_function)
    with pytest.raises(TypeError, match="callable"):
        conn.add_log_listener("not callable")  # type: ignore[arg-type]  # what is tested
    await conn.execute("DO $$ BEGIN RAISE NOTICE 'nobody listens'; END $$")


async def test_a_raising_log_listener_is_logged_and_the_others_still_run(
    conn: Connection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="pgproto")
    good: list[object] = []

    def bad(notice: Notice) -> None:
        raise RuntimeError(f"listener boom: {notice.message}")

    conn.add_log_listener(bad)
    conn.add_log_listener(lambda notice: good.append(notice.message))
    await conn.execute("DO $$ BEGIN RAISE NOTICE 'one'; RAISE NOTICE 'two'; END $$")
    assert good == ["one", "two"]
    assert await conn.fetchval("SELECT 'usable'") == "usable"
    errors = logged_errors(caplog)
    assert [str(r.exc_info[1]) for r in errors if r.exc_info] == ["listener boom: one", "listener boom: two"]
    assert all(r.exc_info and r.exc_info[2] is not None for r in errors), "with traceback"


@pytest.mark.parametrize("mode", MODES)
async def test_notices_delivered_while_the_application_awaits_something_else(dsn: str, mode: Mode) -> None:
    notices: list[object] = []
    query = "DO $$ BEGIN RAISE NOTICE 'early'; PERFORM pg_sleep(60); END $$"
    async with open_conn(dsn, mode) as conn, connect(dsn) as admin:
        conn.add_log_listener(lambda notice: notices.append(notice.message))
        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(conn.execute, query)
                # The query is still running: only the reader can have delivered its first notice.
                await wait_until(lambda: notices)
                assert notices == ["early"]
                await wait_until_running(admin, conn.get_server_pid(), query)
                tasks.cancel_scope.cancel()
        assert await conn.fetchval("SELECT 1") == 1


def test_plain_callbacks_may_use_anyio_under_plain_asyncio_run(dsn: str) -> None:
    # On asyncio the server's bytes are routed from the transport's callback, outside any task: a plain
    # log listener or notification callback must still find anyio's backend. Under asyncio.run (not
    # anyio's runner, which marks the whole context as asyncio) that needs the driver's help.
    async def scenario() -> list[object]:
        got: list[object] = []
        send, receive = anyio.create_memory_object_stream[str](10)

        def on_notice(notice: Notice) -> None:
            got.append(anyio.current_time() > 0)
            send.send_nowait(str(notice.message))

        def on_notification(channel: str, payload: str) -> None:
            got.append(anyio.current_time() > 0)
            send.send_nowait(payload)

        with anyio.fail_after(TIMEOUT):
            async with connect(dsn) as conn, connect(dsn) as other:
                conn.add_log_listener(on_notice)
                await conn.add_listener("callbacks_use_anyio", on_notification)
                await conn.execute("DO $$ BEGIN RAISE NOTICE 'from a notice'; END $$")
                await other.execute("NOTIFY callbacks_use_anyio, 'from a notification'")
                got += [await receive.receive(), await receive.receive()]
        return got

    assert asyncio.run(scenario()) == [True, True, "from a notice", "from a notification"]


# -- query loggers ---------------------------------------------------------------------------------------


async def test_one_call_per_query_with_query_args_and_duration(conn: Connection) -> None:
    logged: Logged = []
    conn.add_query_logger(lambda query, args, duration: logged.append((query, args, duration)))
    assert await conn.execute("SELECT 1; SELECT 2") == "SELECT 1"
    assert logged[-1][:2] == ("SELECT 1; SELECT 2", ())
    await conn.execute("SELECT $1::int", 1)
    assert logged[-1][:2] == ("SELECT $1::int", (1,))
    await conn.fetch("SELECT $1::text, $2::int", "a", 2)
    assert logged[-1][:2] == ("SELECT $1::text, $2::int", ("a", 2))
    await conn.fetchrow("SELECT 3")
    assert logged[-1][:2] == ("SELECT 3", ())
    await conn.fetchval("SELECT pg_sleep($1)", 0.1)
    assert logged[-1][:2] == ("SELECT pg_sleep($1)", (0.1,))
    assert logged[-1][2] >= 0.1, "the duration covers the query"
    assert len(logged) == 5
    assert all(isinstance(duration, float) and duration >= 0 for _, _, duration in logged)


async def test_executemany_is_one_call_with_every_row(conn: Connection) -> None:
    logged: Logged = []
    await conn.execute("CREATE TEMP TABLE many (a int, b text)")
    conn.add_query_logger(lambda query, args, duration: logged.append((query, args, duration)))
    await conn.executemany("INSERT INTO many VALUES ($1, $2)", [[1, "x"], (2, "y"), (3, None)])
    assert [(q, a) for q, a, _ in logged] == [("INSERT INTO many VALUES ($1, $2)", ((1, "x"), (2, "y"), (3, None)))]


async def test_a_cached_statement_is_logged_at_every_run(conn: Connection) -> None:
    logged: Logged = []
    conn.add_query_logger(lambda query, args, duration: logged.append((query, args, duration)))
    with anyio.fail_after(TIMEOUT):
        for n in range(3):  # prepared by the first run, then run from the statement cache
            assert await conn.fetchval("SELECT $1::int", n) == n
            assert await conn.execute("SELECT $1::int", n) == "SELECT 1"
        await conn.fetchval("SELECT pg_sleep($1)", 0.0)
        await conn.fetchrow("SELECT pg_sleep($1)", 0.05)
    expected: list[tuple[str, tuple[object, ...]]] = [("SELECT $1::int", (n,)) for n in range(3) for _ in range(2)]
    expected += [("SELECT pg_sleep($1)", (0.0,)), ("SELECT pg_sleep($1)", (0.05,))]
    assert [(query, args) for query, args, _ in logged] == expected
    assert logged[-1][2] >= 0.05, "the duration covers the query"


async def test_a_query_prepared_again_after_alter_table_is_logged_once(conn: Connection) -> None:
    # The cached statement's result type changed: the server refuses it, and the call prepares it again.
    logged: Logged = []
    with anyio.fail_after(TIMEOUT):
        await conn.execute("CREATE TEMP TABLE relogged (a int); INSERT INTO relogged VALUES (1)")
        assert [tuple(row) for row in await conn.fetch("SELECT * FROM relogged")] == [(1,)]
        await conn.execute("ALTER TABLE relogged ALTER COLUMN a TYPE text")
        conn.add_query_logger(lambda query, args, duration: logged.append((query, args, duration)))
        assert [tuple(row) for row in await conn.fetch("SELECT * FROM relogged")] == [("1",)]
    assert [(query, args) for query, args, _ in logged] == [("SELECT * FROM relogged", ())]


async def test_failing_queries_are_logged(conn: Connection) -> None:
    logged: Logged = []
    conn.add_query_logger(lambda query, args, duration: logged.append((query, args, duration)))
    with pytest.raises(pgproto_anyio.PostgresSyntaxError):
        await conn.execute("SELEC 1")
    with pytest.raises(pgproto_anyio.DivisionByZeroError):
        await conn.fetchval("SELECT 1 / $1::int", 0)
    with pytest.raises(pgproto_anyio.UndefinedTableError):
        await conn.executemany("INSERT INTO nowhere VALUES ($1)", [(1,)])
    assert [(q, a) for q, a, _ in logged] == [
        ("SELEC 1", ()),
        ("SELECT 1 / $1::int", (0,)),
        ("INSERT INTO nowhere VALUES ($1)", ((1,),)),
    ]


async def test_a_cancelled_query_is_logged(conn: Connection) -> None:
    logged: Logged = []
    conn.add_query_logger(lambda query, args, duration: logged.append((query, args, duration)))
    with anyio.fail_after(TIMEOUT), pytest.raises(TimeoutError):
        await conn.execute("SELECT pg_sleep(60)", timeout=0.3)
    assert [(q, a) for q, a, _ in logged] == [("SELECT pg_sleep(60)", ())]


async def test_statements_sent_on_the_users_behalf_are_logged(conn: Connection) -> None:
    logged: list[str] = []
    conn.add_query_logger(lambda query, args, duration: logged.append(query))

    def callback(channel: str, payload: str) -> None:
        pass

    await conn.add_listener("logged channel", callback)
    await conn.add_listener("logged channel", lambda channel, payload: None)  # no second LISTEN
    await conn.remove_listener("logged channel", callback)
    async with conn.transaction(isolation="serializable"), conn.transaction():
        pass
    with pytest.raises(ZeroDivisionError):
        async with conn.transaction():
            raise ZeroDivisionError
    assert logged == [
        'LISTEN "logged channel"',
        "BEGIN ISOLATION LEVEL SERIALIZABLE",
        "SAVEPOINT pgproto_savepoint_1",
        "RELEASE SAVEPOINT pgproto_savepoint_1",
        "COMMIT",
        "BEGIN",
        "ROLLBACK",
    ]
    with anyio.move_on_after(0.1):
        async for _ in conn.notifications("iterated"):
            pass
    await wait_until(lambda: 'UNLISTEN "iterated"' in logged)
    assert logged[-2:] == ['LISTEN "iterated"', 'UNLISTEN "iterated"']


async def test_query_logged_before_the_call_returns_and_only_while_added(conn: Connection) -> None:
    logged: list[str] = []

    def logger(query: str, args: tuple[object, ...], duration: float) -> None:
        logged.append(query)

    await conn.execute("SELECT 'before'")
    conn.add_query_logger(logger)
    conn.add_query_logger(logger)  # once only
    await conn.execute("SELECT 'during'")
    assert logged == ["SELECT 'during'"]
    conn.remove_query_logger(logger)
    conn.remove_query_logger(logger)  # no-op
    await conn.execute("SELECT 'after'")
    assert logged == ["SELECT 'during'"]


async def test_query_logger_context_manager(conn: Connection) -> None:
    logged: list[str] = []

    def logger(query: str, args: tuple[object, ...], duration: float) -> None:
        logged.append(query)

    with conn.query_logger(logger):
        await conn.execute("SELECT 'inside'")
    await conn.execute("SELECT 'outside'")
    with pytest.raises(pgproto_anyio.DivisionByZeroError), conn.query_logger(logger):
        await conn.execute("SELECT 1 / 0")
    await conn.execute("SELECT 'outside again'")
    assert logged == ["SELECT 'inside'", "SELECT 1 / 0"]


async def test_query_loggers_must_be_plain_functions(conn: Connection) -> None:
    async def coroutine_function(query: str, args: tuple[object, ...], duration: float) -> None:
        pass

    with pytest.raises(TypeError, match="plain function"):
        conn.add_query_logger(coroutine_function)
    assert await conn.fetchval("SELECT 1") == 1


async def test_a_raising_query_logger_is_logged_and_the_others_still_run(
    conn: Connection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="pgproto")
    good: list[str] = []

    def bad(query: str, args: tuple[object, ...], duration: float) -> None:
        raise RuntimeError(f"logger boom: {query}")

    conn.add_query_logger(bad)
    conn.add_query_logger(lambda query, args, duration: good.append(query))
    assert await conn.fetchval("SELECT 'result'") == "result"
    with pytest.raises(pgproto_anyio.DivisionByZeroError):  # the query's own error, not the logger's
        await conn.execute("SELECT 1 / 0")
    assert good == ["SELECT 'result'", "SELECT 1 / 0"]
    errors = logged_errors(caplog)
    assert [str(r.exc_info[1]) for r in errors if r.exc_info] == [
        "logger boom: SELECT 'result'",
        "logger boom: SELECT 1 / 0",
    ]
    assert all(r.exc_info and r.exc_info[2] is not None for r in errors), "with traceback"


async def test_a_log_listener_that_terminates_the_connection_mid_flood_gets_no_more(conn: Connection) -> None:
    # The reader routes a whole run of notices at once: it must stop at the one whose listener ended the session.
    got: list[str] = []

    def listener(notice: Notice) -> None:
        got.append(str(notice.message))
        if notice.message == "notice 3":
            conn.terminate()

    conn.add_log_listener(listener)
    closed_by_us = r"closed by close\(\) or terminate\(\) before"  # not "lost": the application ended it
    with anyio.fail_after(TIMEOUT), pytest.raises(pgproto_anyio.ConnectionDoesNotExistError, match=closed_by_us):
        await conn.execute("DO $$ BEGIN FOR i IN 1..50 LOOP RAISE NOTICE 'notice %', i; END LOOP; END $$")
    assert got == ["notice 1", "notice 2", "notice 3"]
    assert conn.is_closed()
