"""Bad input: a closed connection, wrong argument counts and types, odd channel names, payloads at the server's
limit, and a flood of notifications during a large query. Each gets a clear error or the right result, and
the connection stays usable.

The matching file of the sync driver is tests/sync/test_bad_input.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import pytest

import pgproto_anyio
from pgproto_anyio import Connection, connect

from .support import MODES, TIMEOUT, Mode, listening, open_conn, wait_until

pytestmark = pytest.mark.anyio


@pytest.fixture
async def conn(dsn: str) -> AsyncIterator[Connection]:
    async with connect(dsn) as connection:
        yield connection


async def _expect_usable(conn: Connection) -> None:
    assert await conn.fetchval("SELECT $1::int * 2", 21) == 42
    assert not conn.is_closed()


# -- a closed connection --------------------------------------------------------------------------------


def _calls(conn: Connection) -> dict[str, Callable[[], Awaitable[object]]]:
    async def iterate() -> None:
        async for _ in conn.notifications("closed"):
            pass

    return {
        "execute": lambda: conn.execute("SELECT 1"),
        "execute-with-args": lambda: conn.execute("SELECT $1::int", 1),
        "fetch": lambda: conn.fetch("SELECT 1"),
        "fetchrow": lambda: conn.fetchrow("SELECT 1"),
        "fetchval": lambda: conn.fetchval("SELECT 1"),
        "executemany": lambda: conn.executemany("SELECT $1::int", [(1,)]),
        "add_listener": lambda: conn.add_listener("closed", lambda channel, payload: None),
        "transaction": lambda: conn.transaction().start(),
        "notifications": iterate,
    }


@pytest.mark.parametrize("how", ["close", "terminate"])
async def test_every_call_on_a_closed_connection_raises(dsn: str, how: str) -> None:
    conn = await connect(dsn)
    if how == "close":
        await conn.close()
    else:
        conn.terminate()
    assert conn.is_closed()
    closed = r"connection (is closed|was closed by close\(\) or terminate\(\))"
    for name, call in _calls(conn).items():
        with pytest.raises(pgproto_anyio.ConnectionDoesNotExistError, match=closed) as info:
            await call()
        assert isinstance(info.value, pgproto_anyio.InterfaceError), name
    # Undoing and registering are harmless; closing again is a no-op.
    await conn.remove_listener("closed", lambda channel, payload: None)
    conn.add_log_listener(lambda notice: None)
    conn.add_query_logger(lambda query, args, duration: None)
    await conn.close()
    conn.terminate()


# -- wrong number of arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "expects 2 arguments, got 0"),
        ((1,), "expects 2 arguments, got 1"),
        ((1, 2, 3), "expects 2 arguments, got 3"),
    ],
)
async def test_wrong_number_of_arguments(conn: Connection, args: tuple[object, ...], message: str) -> None:
    query = "SELECT $1::int + $2::int"
    for method in (conn.fetch, conn.fetchrow, conn.fetchval):
        with pytest.raises(pgproto_anyio.InterfaceError, match=message):
            await method(query, *args)
    if args:
        with pytest.raises(pgproto_anyio.InterfaceError, match=message):
            await conn.execute(query, *args)
    await _expect_usable(conn)
    assert await conn.fetchval(query, 1, 2) == 3


async def test_arguments_for_a_query_without_parameters(conn: Connection) -> None:
    with pytest.raises(pgproto_anyio.InterfaceError, match="expects 0 arguments, got 1"):
        await conn.fetchval("SELECT 1", 1)
    await _expect_usable(conn)


async def test_execute_without_arguments_for_a_parameterised_query(conn: Connection) -> None:
    # With no arguments execute() sends a simple Query, and the server names the missing parameter.
    with pytest.raises(pgproto_anyio.UndefinedParameterError, match=r"there is no parameter \$1"):
        await conn.execute("SELECT $1::int")
    await _expect_usable(conn)


async def test_executemany_row_with_the_wrong_number_of_arguments(conn: Connection) -> None:
    await conn.execute("CREATE TEMP TABLE pairs (a int, b int)")
    with pytest.raises(pgproto_anyio.InterfaceError, match="row 2: the query expects 2 arguments, got 1"):
        await conn.executemany("INSERT INTO pairs VALUES ($1, $2)", [(1, 2), (3,), (5, 6)])
    assert await conn.fetchval("SELECT count(*) FROM pairs") == 0, "nothing of the batch was run"
    await _expect_usable(conn)


@pytest.mark.parametrize("rows", [[1, 2], ["ab", "cd"], "abc"], ids=["ints", "strings", "a-string"])
async def test_executemany_rows_that_are_not_sequences(conn: Connection, rows: object) -> None:
    with pytest.raises(pgproto_anyio.InterfaceError, match="executemany"):
        await conn.executemany("SELECT $1::text", rows)  # type: ignore[arg-type]  # what is tested
    await _expect_usable(conn)


# -- arguments of the wrong type ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql_type", "value", "message"),
    [
        ("int", "x", r"\$1: 'x' \(expected int, got str\)"),
        ("int", 1.5, r"\$1: 1.5 \(expected int, got float\)"),
        ("int", 2**40, r"\$1: 1099511627776 \(int4 value out of range"),
        ("int", b"1", r"\$1: b'1' \(expected int, got bytes\)"),
        ("text", 1, r"\$1: 1 \(expected str, got int\)"),
        ("text", object(), r"\$1: <object object at .*> \(expected str, got object\)"),
        ("bool", 1, r"\$1: 1 \(expected bool, got int\)"),
        ("date", "2020-01-01", r"\$1: '2020-01-01' \(expected datetime.date, got str\)"),
        ("numeric", "1.5", r"\$1: '1.5' \(expected Decimal, int or float, got str\)"),
        ("uuid", "nope", r"\$1: 'nope' \(badly formed hexadecimal UUID string\)"),
        ("int[]", [1, "x"], r"\$1: \[1, 'x'\] \(array element 1: expected int, got str\)"),
        ("text", "\ud800", r"\$1: '\\ud800' \(.*surrogates not allowed\)"),
    ],
)
async def test_argument_of_the_wrong_type(conn: Connection, sql_type: str, value: object, message: str) -> None:
    with pytest.raises(pgproto_anyio.ArgumentError, match="invalid input for query argument " + message) as info:
        await conn.fetchval(f"SELECT $1::{sql_type}", value)
    assert isinstance(info.value, pgproto_anyio.InterfaceError)
    assert isinstance(info.value, ValueError)
    await _expect_usable(conn)


async def test_the_second_argument_is_named(conn: Connection) -> None:
    with pytest.raises(pgproto_anyio.ArgumentError, match=r"argument \$2: 'two' \(expected int, got str\)"):
        await conn.execute("SELECT $1::int, $2::int", 1, "two")
    await _expect_usable(conn)


async def test_a_wrong_argument_inside_a_transaction_does_not_abort_it(conn: Connection) -> None:
    await conn.execute("CREATE TEMP TABLE kept (n int)")
    async with conn.transaction():
        await conn.execute("INSERT INTO kept VALUES ($1)", 1)
        with pytest.raises(pgproto_anyio.ArgumentError):
            await conn.execute("INSERT INTO kept VALUES ($1)", "not a number")
        await conn.execute("INSERT INTO kept VALUES ($1)", 2)  # caught before it reached the server
    assert [r[0] for r in await conn.fetch("SELECT n FROM kept ORDER BY n")] == [1, 2]


async def test_executemany_with_a_wrong_type_runs_nothing(conn: Connection) -> None:
    await conn.execute("CREATE TEMP TABLE typed (n int)")
    with pytest.raises(pgproto_anyio.ArgumentError, match=r"\$1: 'three'"):
        await conn.executemany("INSERT INTO typed VALUES ($1)", [(1,), (2,), ("three",)])
    assert await conn.fetchval("SELECT count(*) FROM typed") == 0
    await _expect_usable(conn)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (123, "a query must be a str, not int"),
        (None, "a query must be a str, not NoneType"),
        (b"SELECT 1", "a query must be a str, not bytes"),
        ("SELECT 'a\0b'", "contains a NUL character"),
        ("SELECT '\ud800'", "cannot be encoded as UTF-8"),
    ],
)
async def test_bad_query_text(conn: Connection, query: object, message: str) -> None:
    for call in (conn.execute, conn.fetch, conn.fetchval):
        with pytest.raises(pgproto_anyio.InterfaceError, match=message):
            await call(query)  # type: ignore[arg-type]  # what is tested
    await _expect_usable(conn)


async def test_nul_in_a_text_argument_is_refused_by_the_server(conn: Connection) -> None:
    with pytest.raises(pgproto_anyio.CharacterNotInRepertoireError):
        await conn.fetchval("SELECT $1::text", "a\0b")
    await _expect_usable(conn)


async def test_fetchval_column_out_of_range(conn: Connection) -> None:
    with pytest.raises(IndexError):
        await conn.fetchval("SELECT 1, 2", column=5)
    await _expect_usable(conn)


# -- channel names and payloads -----------------------------------------------------------------------------


async def test_channel_name_with_quotes_and_spaces(conn: Connection, dsn: str) -> None:
    name = 'a "quoted" channel; with spaces'
    got: list[tuple[str, str]] = []
    async with connect(dsn) as other:
        await conn.add_listener(name, lambda channel, payload: got.append((channel, payload)))
        assert await listening(conn) == {name}
        await other.execute("SELECT pg_notify($1, 'via pg_notify')", name)
        await other.execute("""NOTIFY "a ""quoted"" channel; with spaces", 'via NOTIFY'""")
        await wait_until(lambda: len(got) == 2)
        assert got == [(name, "via pg_notify"), (name, "via NOTIFY")]


@pytest.mark.parametrize(
    ("channel", "error", "message"),
    [
        ("", pgproto_anyio.InterfaceError, "invalid channel name ''"),
        ("a\0b", pgproto_anyio.InterfaceError, "invalid channel name"),
        (None, pgproto_anyio.InterfaceError, "must be a str, not NoneType"),
        (b"bytes", pgproto_anyio.InterfaceError, "must be a str, not bytes"),
    ],
)
async def test_channel_names_no_identifier_can_hold(
    conn: Connection, channel: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await conn.add_listener(channel, lambda c, p: None)  # type: ignore[arg-type]  # what is tested
    assert await listening(conn) == set()
    await _expect_usable(conn)


async def test_a_callback_that_is_not_callable(conn: Connection) -> None:
    with pytest.raises(TypeError, match="must be callable, got str"):
        await conn.add_listener("chan", "not a function")  # type: ignore[arg-type]  # what is tested
    assert await listening(conn) == set()


#: The largest payload the server accepts is 7999 bytes (NOTIFY: "shorter than 8000 bytes").
LARGEST_PAYLOAD = "é" * 1000 + "€" * 1000 + "🐘" * 500 + "x" * 999
assert len(LARGEST_PAYLOAD.encode()) == 7999


@pytest.mark.parametrize("mode", MODES)
async def test_largest_non_ascii_payload_arrives_intact(dsn: str, mode: Mode) -> None:
    got: list[str] = []
    async with open_conn(dsn, mode) as conn, connect(dsn) as other:
        await conn.add_listener("big", lambda channel, payload: got.append(payload))
        await other.execute("SELECT pg_notify('big', $1)", LARGEST_PAYLOAD)
        await other.execute("SELECT pg_notify('big', $1)", LARGEST_PAYLOAD[::-1])
        await wait_until(lambda: len(got) == 2)
        assert got == [LARGEST_PAYLOAD, LARGEST_PAYLOAD[::-1]]


@pytest.mark.parametrize("payload", ["é" * 4000, "x" * 8000, "🐘" * 5000], ids=["8000-bytes", "ascii", "20000-bytes"])
async def test_payload_over_the_servers_limit(conn: Connection, payload: str) -> None:
    with pytest.raises(pgproto_anyio.InvalidParameterValueError, match="payload string too long"):
        await conn.execute("SELECT pg_notify('big', $1)", payload)
    await _expect_usable(conn)


# -- a flood of notifications during a large query --------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_flood_of_notifications_during_a_large_query(dsn: str, mode: Mode) -> None:
    flood = 10_000
    got: list[int] = []
    async with open_conn(dsn, mode) as conn, connect(dsn) as other:
        await conn.add_listener("flood", lambda channel, payload: got.append(int(payload)))
        results: list[int] = []

        async def produce() -> None:
            # Ten transactions, so notifications keep arriving while the large result streams in.
            for start in range(1, flood + 1, 1000):
                await other.execute(
                    "SELECT pg_notify('flood', g::text) FROM generate_series($1::int, $2::int) g", start, start + 999
                )

        with anyio.fail_after(TIMEOUT * 6):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(produce)
                for _ in range(3):
                    rows = await conn.fetch("SELECT g, md5(g::text) AS h FROM generate_series(1, 100000) g")
                    assert [row["g"] for row in rows] == list(range(1, 100001))
                    for row in rows[::997]:
                        assert row["h"] == hashlib.md5(str(row["g"]).encode()).hexdigest()
                    results.append(len(rows))
            await wait_until(lambda: len(got) >= flood, timeout=TIMEOUT * 3)
        assert results == [100000] * 3
        assert got == list(range(1, flood + 1))
