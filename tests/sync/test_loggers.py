"""Log listeners (every NoticeResponse, delivered before the query call returns) and query loggers (one call
per query, failing ones and the driver's own LISTEN/BEGIN/COMMIT included).
"""

from __future__ import annotations

import logging

import pytest

import pgproto
from pgproto_sync import Connection, Notice

QueryLog = list[tuple[str, tuple[object, ...], float]]

RAISE_EVERY_LEVEL = """
DO $$ BEGIN
    RAISE DEBUG 'not sent at the default client_min_messages';
    RAISE LOG 'a log line';
    RAISE INFO 'an info';
    RAISE NOTICE 'a notice' USING DETAIL = 'the detail', HINT = 'the hint', ERRCODE = '01234';
    RAISE WARNING 'a warning';
END $$
"""


def test_notices_reach_every_log_listener_before_the_call_returns(conn: Connection) -> None:
    first: list[Notice] = []
    second: list[Notice] = []
    conn.add_log_listener(first.append)
    conn.add_log_listener(second.append)
    conn.execute("SET client_min_messages = log")
    conn.execute(RAISE_EVERY_LEVEL)
    # No poll() in between: the notices came with the query's result.
    assert [(n.severity, n.message) for n in first] == [
        ("LOG", "a log line"),
        ("INFO", "an info"),
        ("NOTICE", "a notice"),
        ("WARNING", "a warning"),
    ]
    assert second == first
    notice = first[2]
    assert (notice.detail, notice.hint, notice.sqlstate) == ("the detail", "the hint", "01234")
    assert notice.context is not None and "PL/pgSQL" in notice.context
    assert first[3].sqlstate == "01000"


def test_notices_of_every_query_call(conn: Connection) -> None:
    got: list[str] = []
    conn.add_log_listener(lambda notice: got.append(str(notice.message)))
    conn.execute("CREATE TEMP TABLE noisy (id int)")
    conn.execute("CREATE OR REPLACE FUNCTION pg_temp.say(t text) RETURNS int AS $$ BEGIN RAISE NOTICE '%', t; "
                 "RETURN 1; END $$ LANGUAGE plpgsql")  # fmt: skip
    assert conn.fetchval("SELECT pg_temp.say($1)", "fetchval") == 1
    assert got == ["fetchval"]
    assert len(conn.fetch("SELECT pg_temp.say(g::text) FROM generate_series(1, 3) g")) == 3
    assert got == ["fetchval", "1", "2", "3"]
    conn.executemany("INSERT INTO noisy SELECT pg_temp.say($1)", [("a",), ("b",)])
    assert got[-2:] == ["a", "b"]
    conn.execute("DROP TABLE IF EXISTS does_not_exist")  # a server warning of its own
    assert "does_not_exist" in got[-1]


def test_notices_of_a_failing_query_are_delivered_before_the_error(conn: Connection) -> None:
    got: list[str] = []
    conn.add_log_listener(lambda notice: got.append(str(notice.message)))
    with pytest.raises(pgproto.RaiseError):
        conn.execute("DO $$ BEGIN RAISE NOTICE 'before'; RAISE EXCEPTION 'boom'; END $$")
    assert got == ["before"]


def test_removed_log_listener_gets_nothing_and_unknown_removal_is_a_no_op(conn: Connection) -> None:
    got: list[Notice] = []
    conn.remove_log_listener(got.append)
    conn.add_log_listener(got.append)
    conn.remove_log_listener(got.append)
    conn.remove_log_listener(got.append)
    conn.execute("DO $$ BEGIN RAISE NOTICE 'nobody hears'; END $$")
    assert got == []


def test_a_raising_log_listener_is_logged_and_the_others_still_run(
    conn: Connection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="pgproto")
    got: list[str] = []

    def bad(notice: Notice) -> None:
        raise RuntimeError("log listener boom")

    conn.add_log_listener(bad)
    conn.add_log_listener(lambda notice: got.append(str(notice.message)))
    conn.execute("DO $$ BEGIN RAISE NOTICE 'one'; RAISE NOTICE 'two'; END $$")
    assert got == ["one", "two"]
    assert conn.fetchval("SELECT 1") == 1
    errors = [r for r in caplog.records if r.name.split(".")[0] == "pgproto" and r.levelno == logging.ERROR]
    assert [str(r.exc_info[1]) for r in errors if r.exc_info] == ["log listener boom"] * 2


# -- query loggers ----------------------------------------------------------------------------------------------


def test_one_call_per_query_with_text_args_and_duration(conn: Connection) -> None:
    log: QueryLog = []
    conn.add_query_logger(lambda query, args, duration: log.append((query, args, duration)))
    conn.execute("SELECT 1")
    conn.execute("SELECT $1::int", 2)
    conn.fetch("SELECT $1::text, $2::int", "x", 3)
    conn.fetchrow("SELECT 4")
    conn.fetchval("SELECT pg_sleep(0.05)")
    assert [(q, a) for q, a, _ in log] == [
        ("SELECT 1", ()),
        ("SELECT $1::int", (2,)),
        ("SELECT $1::text, $2::int", ("x", 3)),
        ("SELECT 4", ()),
        ("SELECT pg_sleep(0.05)", ()),
    ]
    assert all(isinstance(duration, float) and duration >= 0 for _, _, duration in log)
    assert log[-1][2] >= 0.05, "the duration covers the server's work"


def test_a_cached_statement_is_logged_at_every_run(conn: Connection) -> None:
    logged: QueryLog = []
    conn.add_query_logger(lambda query, args, duration: logged.append((query, args, duration)))
    for n in range(3):  # prepared by the first run, then run from the statement cache
        assert conn.fetchval("SELECT $1::int", n) == n
        assert conn.execute("SELECT $1::int", n) == "SELECT 1"
    conn.fetchval("SELECT pg_sleep($1)", 0.0)
    conn.fetchrow("SELECT pg_sleep($1)", 0.05)
    expected: list[tuple[str, tuple[object, ...]]] = [("SELECT $1::int", (n,)) for n in range(3) for _ in range(2)]
    expected += [("SELECT pg_sleep($1)", (0.0,)), ("SELECT pg_sleep($1)", (0.05,))]
    assert [(query, args) for query, args, _ in logged] == expected
    assert logged[-1][2] >= 0.05, "the duration covers the query"


def test_a_query_prepared_again_after_alter_table_is_logged_once(conn: Connection) -> None:
    # The cached statement's result type changed: the server refuses it, and the call prepares it again.
    conn.execute("CREATE TEMP TABLE relogged (a int); INSERT INTO relogged VALUES (1)")
    assert [tuple(row) for row in conn.fetch("SELECT * FROM relogged")] == [(1,)]
    conn.execute("ALTER TABLE relogged ALTER COLUMN a TYPE text")
    logged: QueryLog = []
    conn.add_query_logger(lambda query, args, duration: logged.append((query, args, duration)))
    assert [tuple(row) for row in conn.fetch("SELECT * FROM relogged")] == [("1",)]
    assert [(query, args) for query, args, _ in logged] == [("SELECT * FROM relogged", ())]


def test_failing_queries_are_logged(conn: Connection) -> None:
    log: QueryLog = []
    conn.add_query_logger(lambda query, args, duration: log.append((query, args, duration)))
    with pytest.raises(pgproto.PostgresSyntaxError):
        conn.execute("SELEC 1")
    with pytest.raises(pgproto.DivisionByZeroError):
        conn.fetchval("SELECT 1 / $1::int", 0)
    assert [(q, a) for q, a, _ in log] == [("SELEC 1", ()), ("SELECT 1 / $1::int", (0,))]


def test_executemany_is_one_call(conn: Connection) -> None:
    log: QueryLog = []
    conn.execute("CREATE TEMP TABLE logged_many (id int, name text)")
    conn.add_query_logger(lambda query, args, duration: log.append((query, args, duration)))
    conn.executemany("INSERT INTO logged_many VALUES ($1, $2)", [(1, "a"), (2, "b"), (3, "c")])
    assert [(q, a) for q, a, _ in log] == [("INSERT INTO logged_many VALUES ($1, $2)", ((1, "a"), (2, "b"), (3, "c")))]


def test_statements_sent_on_the_users_behalf_are_logged(conn: Connection) -> None:
    log: QueryLog = []

    def callback(channel: str, payload: str) -> None:
        pass

    conn.add_query_logger(lambda query, args, duration: log.append((query, args, duration)))
    conn.add_listener("logged channel", callback)
    conn.add_listener("logged channel", lambda channel, payload: None)  # no second LISTEN, nothing logged
    conn.remove_listener("logged channel", callback)
    with conn.transaction():
        conn.execute("SELECT 1")
        with conn.transaction():
            conn.execute("SELECT 2")
    with pytest.raises(ZeroDivisionError), conn.transaction():
        1 / 0  # noqa: B018
    assert [q for q, _, _ in log] == [
        'LISTEN "logged channel"',
        "BEGIN",
        "SELECT 1",
        "SAVEPOINT pgproto_savepoint_1",
        "SELECT 2",
        "RELEASE SAVEPOINT pgproto_savepoint_1",
        "COMMIT",
        "BEGIN",
        "ROLLBACK",
    ]
    conn.remove_listener("logged channel", lambda channel, payload: None)  # never added: no UNLISTEN
    assert len(log) == 9


def test_unlisten_is_logged(conn: Connection) -> None:
    log: QueryLog = []

    def callback(channel: str, payload: str) -> None:
        pass

    conn.add_listener("gone", callback)
    conn.add_query_logger(lambda query, args, duration: log.append((query, args, duration)))
    conn.remove_listener("gone", callback)
    assert [q for q, _, _ in log] == ['UNLISTEN "gone"']


def test_query_logger_block_removes_it_also_on_error(conn: Connection) -> None:
    log: QueryLog = []

    def logger(query: str, args: tuple[object, ...], duration: float) -> None:
        log.append((query, args, duration))

    with conn.query_logger(logger):
        conn.execute("SELECT 'inside'")
    conn.execute("SELECT 'after'")
    with pytest.raises(pgproto.UndefinedTableError), conn.query_logger(logger):
        conn.execute("SELECT * FROM no_such_table")
    conn.execute("SELECT 'after the error'")
    assert [q for q, _, _ in log] == ["SELECT 'inside'", "SELECT * FROM no_such_table"]


def test_a_raising_query_logger_is_logged_and_the_query_result_stands(
    conn: Connection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="pgproto")
    log: QueryLog = []

    def bad(query: str, args: tuple[object, ...], duration: float) -> None:
        raise RuntimeError("query logger boom")

    conn.add_query_logger(bad)
    conn.add_query_logger(lambda query, args, duration: log.append((query, args, duration)))
    assert conn.fetchval("SELECT 5") == 5
    assert [q for q, _, _ in log] == ["SELECT 5"]
    assert "query logger boom" in caplog.text
    conn.remove_query_logger(bad)
    conn.remove_query_logger(bad)
    assert conn.fetchval("SELECT 6") == 6


def test_a_log_listener_that_terminates_the_connection_mid_flood_gets_no_more(conn: Connection) -> None:
    # A read routes a whole run of notices at once: it must stop at the one whose listener ended the session.
    got: list[str] = []

    def listener(notice: Notice) -> None:
        got.append(str(notice.message))
        if notice.message == "notice 3":
            conn.terminate()

    conn.add_log_listener(listener)
    closed_by_us = r"closed by close\(\) or terminate\(\) before"  # not "lost": the application ended it
    with pytest.raises(pgproto.ConnectionDoesNotExistError, match=closed_by_us):
        conn.execute("DO $$ BEGIN FOR i IN 1..50 LOOP RAISE NOTICE 'notice %', i; END LOOP; END $$", timeout=10)
    assert got == ["notice 1", "notice 2", "notice 3"]
    assert conn.is_closed()
