"""timeout= on the query calls: TimeoutError, the query cancelled on the server (CancelRequest), and the
connection usable afterwards; the same for an exception raised by a signal handler (Ctrl-C).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable
from types import FrameType

import pytest

import pgproto
from pgproto._shared._operations import BATCH_PART_ROWS
from pgproto_sync import Connection

QueryLog = list[tuple[str, tuple[object, ...], float]]


def _assert_idle_on_the_server(conn: Connection, other: Connection) -> None:
    """The backend no longer runs the cancelled query, and the connection answers at once."""
    state = other.fetchval("SELECT state FROM pg_stat_activity WHERE pid = $1", conn.get_server_pid())
    assert state == "idle"
    assert conn.fetchval("SELECT 'usable'") == "usable"
    assert conn.fetchval("SELECT $1::int", 5) == 5


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda c: c.execute("SELECT pg_sleep(60)", timeout=0.2), id="execute"),
        pytest.param(lambda c: c.execute("SELECT pg_sleep($1)", 60.0, timeout=0.2), id="execute-args"),
        pytest.param(lambda c: c.fetch("SELECT pg_sleep(60)", timeout=0.2), id="fetch"),
        pytest.param(lambda c: c.fetchrow("SELECT pg_sleep(60)", timeout=0.2), id="fetchrow"),
        pytest.param(lambda c: c.fetchval("SELECT pg_sleep(60)", timeout=0.2), id="fetchval"),
        pytest.param(
            lambda c: c.executemany("SELECT pg_sleep($1)", [(0.0,), (60.0,)], timeout=0.2), id="executemany"
        ),
    ],
)
def test_timeout_cancels_on_the_server(
    conn: Connection, other: Connection, call: Callable[[Connection], object]
) -> None:
    log: QueryLog = []
    conn.add_query_logger(lambda query, args, duration: log.append((query, args, duration)))
    with pytest.raises(TimeoutError, match="cancelled"):
        call(conn)
    assert not conn.is_closed()
    assert len(log) == 1, "the timed-out query is logged"
    assert log[0][2] >= 0.2
    _assert_idle_on_the_server(conn, other)


@pytest.mark.parametrize("method", ["execute", "fetch", "fetchrow", "fetchval"])
def test_timeout_cancels_a_cached_statement_on_the_server(conn: Connection, other: Connection, method: str) -> None:
    # Prepared by the first call, run from the statement cache by the second: the calls' fast path.
    call = getattr(conn, method)
    call("SELECT pg_sleep($1)", 0.0)
    log: QueryLog = []
    conn.add_query_logger(lambda query, args, duration: log.append((query, args, duration)))
    with pytest.raises(TimeoutError, match="cancelled"):
        call("SELECT pg_sleep($1)", 60.0, timeout=0.2)
    assert not conn.is_closed()
    assert [(query, args) for query, args, _ in log] == [("SELECT pg_sleep($1)", (60.0,))]
    assert log[0][2] >= 0.2
    _assert_idle_on_the_server(conn, other)


def test_a_timeout_that_does_not_expire(conn: Connection) -> None:
    assert conn.fetchval("SELECT pg_sleep(0.01) IS NOT NULL", timeout=60) is True
    assert conn.execute("SELECT 1", timeout=60) == "SELECT 1"


def test_timeout_inside_a_transaction_rolls_it_back(conn: Connection, other: Connection) -> None:
    conn.execute("CREATE TEMP TABLE cancelled (x int)")
    with pytest.raises(TimeoutError), conn.transaction():
        conn.execute("INSERT INTO cancelled VALUES (1)")
        conn.execute("SELECT pg_sleep(60)", timeout=0.2)
    assert conn.fetchval("SELECT count(*) FROM cancelled") == 0
    _assert_idle_on_the_server(conn, other)


def test_timeout_during_a_large_send(conn: Connection, other: Connection) -> None:
    """The server is busy (sleeping) while megabytes wait to be sent: the rest still goes, then it is cancelled."""
    blob = b"\xab" * (8 * 1024 * 1024)
    with pytest.raises(TimeoutError):
        conn.execute("SELECT pg_sleep(60); SELECT 1", timeout=0.2)
    with pytest.raises(TimeoutError):
        conn.executemany("SELECT pg_sleep($1), length($2::bytea)", [(60.0, blob), (0.0, blob)], timeout=0.2)
    _assert_idle_on_the_server(conn, other)
    assert conn.fetchval("SELECT length($1::bytea)", blob) == len(blob)


@pytest.mark.parametrize("slow", [False, True], ids=["fast-rows", "slow-rows"])
def test_timeout_during_an_executemany_sent_in_parts(conn: Connection, other: Connection, slow: bool) -> None:
    """Parts of ~1 MB each; the deadline passes while they are sent: all of the batch or none of it, and
    the next queries get their own answers, outside a transaction."""
    rows = [(i, "x" * 2000) for i in range(20 * BATCH_PART_ROWS)]
    conn.execute("CREATE TEMP TABLE big_parts (id int, filler text)")
    query = "INSERT INTO big_parts SELECT $1::int, $2::text" + (" FROM pg_sleep(0.001)" if slow else "")
    with contextlib.suppress(TimeoutError):
        conn.executemany(query, rows, timeout=0.05)
    assert conn.fetchval("SELECT 'in step'") == "in step"
    assert conn.fetchval("SELECT $1::int + 1", 41) == 42
    assert conn.fetchval("SELECT count(*) FROM big_parts") in ((0,) if slow else (0, len(rows)))
    with pytest.raises(pgproto.PostgresError, match="only be used in transaction blocks"):
        conn.execute("SAVEPOINT probe")  # refused outside a transaction block: the session is idle
    _assert_idle_on_the_server(conn, other)


class Interrupted(Exception):
    """Raised by the test's signal handler, as KeyboardInterrupt would be by Ctrl-C."""


def test_an_exception_from_a_signal_handler_cancels_the_query(conn: Connection, other: Connection) -> None:
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, interrupt)
    guard_left, _ = signal.setitimer(signal.ITIMER_REAL, 0.2)
    try:
        with pytest.raises(Interrupted):
            conn.fetchval("SELECT pg_sleep(60)")
    finally:
        signal.signal(signal.SIGALRM, previous)
        signal.setitimer(signal.ITIMER_REAL, max(guard_left, 1.0))  # the hang guard again
    assert not conn.is_closed()
    _assert_idle_on_the_server(conn, other)


def test_cancelled_statement_error_without_timeout(conn: Connection, other: Connection) -> None:
    """A cancel from elsewhere (pg_cancel_backend) is a QueryCanceledError, and the connection goes on."""
    pid = conn.get_server_pid()
    canceller = threading.Timer(0.2, other.fetchval, ("SELECT pg_cancel_backend($1)", pid))
    canceller.start()
    try:
        with pytest.raises(pgproto.QueryCanceledError):
            conn.execute("SELECT pg_sleep(60)")
    finally:
        canceller.join(10)
    assert conn.fetchval("SELECT 1") == 1
