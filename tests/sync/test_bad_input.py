"""Bad input gets a clear error or the right result, and the connection goes on: a closed connection, the
wrong number or type of arguments, awkward channel names and payloads, and a flood of notifications.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

import pgproto
import pgproto_sync
from pgproto_sync import Connection

from .helpers import TIMEOUT, Worker, ident, listening, wait_until

CALLS_ON_A_CLOSED_CONNECTION: list[tuple[str, Callable[[Connection], object]]] = [
    ("execute", lambda c: c.execute("SELECT 1")),
    ("execute-args", lambda c: c.execute("SELECT $1::int", 1)),
    ("executemany", lambda c: c.executemany("SELECT $1::int", [(1,)])),
    ("fetch", lambda c: c.fetch("SELECT 1")),
    ("fetchrow", lambda c: c.fetchrow("SELECT 1")),
    ("fetchval", lambda c: c.fetchval("SELECT 1")),
    ("add_listener", lambda c: c.add_listener("x", lambda channel, payload: None)),
    ("poll", lambda c: c.poll(0)),
    ("notifications", lambda c: next(c.notifications("x", timeout=0))),
    ("transaction", lambda c: c.transaction().start()),
]


@pytest.mark.parametrize("call", [c for _, c in CALLS_ON_A_CLOSED_CONNECTION],
                         ids=[name for name, _ in CALLS_ON_A_CLOSED_CONNECTION])  # fmt: skip
def test_a_closed_connection(dsn: str, call: Callable[[Connection], object]) -> None:
    conn = pgproto_sync.connect(dsn)
    conn.close()
    with pytest.raises(pgproto.ConnectionDoesNotExistError) as info:
        call(conn)
    assert isinstance(info.value, pgproto.InterfaceError)
    assert "closed" in str(info.value)
    conn.remove_listener("x", lambda channel, payload: None)  # no-op
    conn.add_log_listener(lambda notice: None)  # registrations need no server
    conn.close()


def test_wrong_number_of_arguments(conn: Connection) -> None:
    with pytest.raises(pgproto.InterfaceError, match="2") as too_many:
        conn.fetchval("SELECT $1::int", 1, 2)
    assert not isinstance(too_many.value, pgproto.PostgresError)
    with pytest.raises(pgproto.InterfaceError, match="1"):
        conn.fetchval("SELECT $1::int + $2::int", 1)
    with pytest.raises(pgproto.InterfaceError, match="expects 1 argument, got 0"):
        conn.fetchval("SELECT $1::int")
    with pytest.raises(pgproto.UndefinedParameterError):  # execute() without arguments: a simple Query
        conn.execute("SELECT $1::int")
    assert conn.fetchval("SELECT $1::int + $2::int", 1, 2) == 3


def test_a_query_that_is_not_a_str(conn: Connection) -> None:
    with pytest.raises(pgproto.InterfaceError, match="bytes"):
        conn.execute(b"SELECT 1")  # type: ignore[arg-type]  # the wrong type on purpose
    with pytest.raises(pgproto.InterfaceError, match="NoneType"):
        conn.fetchval(None, 1)  # type: ignore[arg-type]  # the wrong type on purpose
    assert conn.fetchval("SELECT 1") == 1


@pytest.mark.parametrize(
    "rows",
    [pytest.param("abc", id="a-str"), pytest.param(["ab", "cd"], id="str-rows"), pytest.param([1, 2], id="int-rows")],
)
def test_executemany_rows_that_are_not_sequences(conn: Connection, rows: object) -> None:
    conn.execute("CREATE TEMP TABLE bad_rows (x text)")
    with pytest.raises(pgproto.InterfaceError, match="executemany"):
        conn.executemany("INSERT INTO bad_rows VALUES ($1)", rows)  # type: ignore[arg-type]  # on purpose
    assert conn.fetchval("SELECT count(*) FROM bad_rows") == 0


@pytest.mark.parametrize(
    ("sql", "value"),
    [("SELECT $1::int", "not a number"), ("SELECT $1::text", 5), ("SELECT $1::bytea", "str"),
     ("SELECT $1::int", 2**40), ("SELECT $1::date", "2024-01-01"), ("SELECT $1::int[]", [1, "x"])],
)  # fmt: skip
def test_wrong_argument_type(conn: Connection, sql: str, value: object) -> None:
    with pytest.raises(pgproto.ArgumentError, match=r"\$1"):
        conn.fetchval(sql, value)
    assert conn.fetchval(sql.replace("$1", "NULL")) is None
    assert conn.fetchval("SELECT 'usable'") == "usable"


@pytest.mark.parametrize("channel", ['with "quotes" and spaces', "  leading and trailing  ", "'single' \"double\""])
def test_channel_name_with_quotes_and_spaces(conn: Connection, other: Connection, channel: str) -> None:
    got: list[tuple[str, str]] = []
    conn.add_listener(channel, lambda ch, payload: got.append((ch, payload)))
    assert listening(conn) == {channel}
    other.execute("SELECT pg_notify($1, 'via pg_notify')", channel)
    other.execute(f"NOTIFY {ident(channel)}, 'via NOTIFY'")
    wait_until(conn, lambda: len(got) == 2)
    assert got == [(channel, "via pg_notify"), (channel, "via NOTIFY")]


def test_largest_non_ascii_payload(conn: Connection, other: Connection) -> None:
    # PostgreSQL takes payloads shorter than 8000 bytes: 7999 bytes of 1-, 2-, 3- and 4-byte characters.
    payload = ("aé€🐘" * 800)[:-1]
    payload += "x" * (7999 - len(payload.encode()))
    assert len(payload.encode()) == 7999
    got: list[str] = []
    conn.add_listener("big", lambda channel, p: got.append(p))
    other.execute("SELECT pg_notify('big', $1)", payload)
    wait_until(conn, lambda: got)
    assert got == [payload]


def test_an_8000_byte_payload_is_refused_clearly(conn: Connection, other: Connection) -> None:
    payload = "é" * 4000  # 8000 bytes in UTF-8
    with pytest.raises(pgproto.InvalidParameterValueError, match="payload string too long"):
        other.execute("SELECT pg_notify('big', $1)", payload)
    assert other.fetchval("SELECT 1") == 1


def test_a_flood_of_notifications_while_a_large_query_runs(conn: Connection, other: Connection, dsn: str) -> None:
    count = 10_000
    got: list[int] = []
    conn.add_listener("flood", lambda channel, payload: got.append(int(payload)))
    other.execute("SELECT pg_advisory_lock(777)")

    def flood_while_blocked() -> None:
        # Once conn's large query waits for the lock, flood it, then let the query go.
        with pgproto_sync.connect(dsn) as flooder:
            deadline = time.monotonic() + TIMEOUT
            while not flooder.fetchval(
                "SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted", conn.get_server_pid()
            ):
                assert time.monotonic() < deadline
                time.sleep(0.01)
            flooder.execute(f"SELECT pg_notify('flood', g::text) FROM generate_series(1, {count}) g")
        other.execute("SELECT pg_advisory_unlock(777)")

    worker = Worker(flood_while_blocked)
    worker.start()
    rows = conn.fetch(
        "SELECT g, repeat('r', 100) AS filler FROM pg_advisory_xact_lock(777), generate_series(1, 200000) g"
    )
    worker.finish(TIMEOUT * 3)
    assert len(rows) == 200_000 and rows[-1]["g"] == 200_000
    assert got == list(range(1, count + 1)), "every notification, once, in order, by the end of the query"
    assert conn.fetchval("SELECT 'usable'") == "usable"


def test_a_flood_read_by_poll(conn: Connection, other: Connection) -> None:
    count = 10_000
    got: list[int] = []
    conn.add_listener("flood", lambda channel, payload: got.append(int(payload)))
    other.execute(f"SELECT pg_notify('flood', g::text) FROM generate_series(1, {count}) g")
    wait_until(conn, lambda: len(got) >= count, timeout=TIMEOUT * 3)
    assert got == list(range(1, count + 1))
