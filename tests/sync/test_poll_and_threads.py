"""What only the sync driver has: poll(timeout), notifications read during a query and dispatched after it,
and one connection shared by a thread blocked in poll() and threads running queries.
"""

from __future__ import annotations

import threading
import time

import pytest

import pgproto
import pgproto_sync
from pgproto_sync import Connection

from .helpers import TIMEOUT, Worker, terminate_backend, wait_backend_gone, wait_until


def test_poll_returns_0_after_the_timeout_when_nothing_arrives(conn: Connection) -> None:
    conn.add_listener("quiet", lambda channel, payload: None)
    started = time.monotonic()
    assert conn.poll(0.2) == 0
    assert time.monotonic() - started >= 0.2
    assert conn.poll(0) == 0
    assert conn.fetchval("SELECT 1") == 1


def test_poll_returns_the_count_when_a_notification_arrives(conn: Connection, other: Connection) -> None:
    got: list[str] = []
    conn.add_listener("wake", lambda channel, payload: got.append(payload))
    sender = threading.Timer(0.1, other.execute, ("NOTIFY wake, 'up'",))
    sender.start()
    try:
        # Far longer than the test may take (the hang guard would fail it): only the notification ends it.
        assert conn.poll(3600) == 1
    finally:
        sender.join(TIMEOUT)
    assert got == ["up"]


def test_poll_without_timeout_waits_for_a_notification(conn: Connection, other: Connection) -> None:
    got: list[str] = []
    conn.add_listener("wake", lambda channel, payload: got.append(payload))
    sender = threading.Timer(0.1, other.execute, ("NOTIFY wake, 'up'",))
    sender.start()
    try:
        assert conn.poll() == 1
    finally:
        sender.join(TIMEOUT)
    assert got == ["up"]


def test_poll_counts_every_dispatched_notification(conn: Connection, other: Connection) -> None:
    got: list[str] = []
    conn.add_listener("counted", lambda channel, payload: got.append(payload))
    conn.add_listener("counted_too", lambda channel, payload: got.append(payload))
    other.execute("SELECT pg_notify(CASE WHEN g % 2 = 0 THEN 'counted' ELSE 'counted_too' END, g::text)"
                  " FROM generate_series(1, 50) g")  # fmt: skip
    total = 0
    deadline = time.monotonic() + TIMEOUT
    while total < 50:
        assert time.monotonic() < deadline
        total += conn.poll(1)
    assert total == 50
    assert got == [str(g) for g in range(1, 51)]
    assert conn.poll(0) == 0


def test_poll_with_notifications_already_read_by_a_query(conn: Connection, other: Connection) -> None:
    got: list[str] = []
    conn.add_listener("early", lambda channel, payload: got.append(payload))
    other.execute("NOTIFY early, 'x'")
    conn.execute("SELECT pg_sleep(0.01)")  # reads the notification and dispatches it at its end
    assert got == ["x"]
    assert conn.poll(0) == 0, "nothing is left to dispatch"


def test_a_notification_sent_while_a_query_runs_is_delivered_after_it(
    conn: Connection, other: Connection, dsn: str
) -> None:
    events: list[str] = []
    conn.add_listener("during", lambda channel, payload: events.append(f"notified {payload}"))
    conn.add_query_logger(lambda query, args, duration: events.append(f"query done: {query}"))
    other.execute("SELECT pg_advisory_lock(4242)")

    def notify_while_blocked() -> None:
        # Once conn's query waits for the lock, notify it, then let the query finish.
        with pgproto_sync.connect(dsn) as third:
            while not third.fetchval(
                "SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted", conn.get_server_pid()
            ):
                time.sleep(0.01)
            third.execute("NOTIFY during, 'meanwhile'")
        other.execute("SELECT pg_advisory_unlock(4242)")

    worker = Worker(notify_while_blocked)
    worker.start()
    assert conn.fetchval("SELECT 1 FROM pg_advisory_xact_lock(4242)") == 1
    worker.finish()
    assert events == [
        "query done: SELECT 1 FROM pg_advisory_xact_lock(4242)",
        "notified meanwhile",
    ], "delivered by the end of the query's call, after its result"


def test_callbacks_run_in_the_thread_that_reads(conn: Connection, other: Connection) -> None:
    threads: list[int] = []
    conn.add_listener("in_thread", lambda channel, payload: threads.append(threading.get_ident()))

    def poll_once() -> int:
        return conn.poll(TIMEOUT)

    poller = Worker(poll_once)
    poller.start()
    other.execute("NOTIFY in_thread, 'a'")
    assert poller.finish() == 1
    assert threads == [poller.ident]


def test_a_polling_thread_and_a_querying_thread_both_make_progress(conn: Connection, other: Connection) -> None:
    got: list[int] = []
    all_arrived = threading.Event()
    stop = threading.Event()
    polls: list[int] = []

    def callback(channel: str, payload: str) -> None:
        got.append(int(payload))
        if len(got) == 40:
            all_arrived.set()

    def poll_loop() -> None:
        deadline = time.monotonic() + TIMEOUT * 3
        while not stop.is_set():
            assert time.monotonic() < deadline, "the polling thread never stopped"
            polls.append(conn.poll(0.05))

    conn.add_listener("progress", callback)
    poller = Worker(poll_loop)
    poller.start()
    try:
        for i in range(40):
            other.execute("SELECT pg_notify('progress', $1)", str(i))
            assert conn.fetchval("SELECT $1::int * 3", i) == i * 3
        assert all_arrived.wait(TIMEOUT)
    finally:
        stop.set()
        poller.finish()
    assert got == list(range(40)), "every notification once, in order, whichever thread read it"
    assert len(polls) >= 1
    assert conn.fetchval("SELECT 'still usable'") == "still usable"


def test_queries_go_on_while_another_thread_is_blocked_in_poll_without_timeout(
    conn: Connection, other: Connection
) -> None:
    got: list[str] = []
    conn.add_listener("unblock", lambda channel, payload: got.append(payload))
    poller = Worker(conn.poll)
    poller.start()
    for i in range(20):
        assert conn.fetchval("SELECT $1::int + 1", i) == i + 1
    with conn.transaction():
        conn.execute("CREATE TEMP TABLE from_main (x int)")
    assert poller.is_alive(), "no notification yet: the poll still waits"
    other.execute("NOTIFY unblock, 'done'")
    result = poller.finish()
    assert got == ["done"]
    assert result in (0, 1), "1, or 0 if this thread's next call dispatched it first"


def test_poll_in_a_thread_finds_the_connection_lost(conn: Connection, dsn: str) -> None:
    fired: list[int] = []
    conn.add_termination_listener(lambda: fired.append(threading.get_ident()))
    poller = Worker(conn.poll)
    poller.start()
    terminate_backend(dsn, conn.get_server_pid())
    assert poller.finish() == 0
    assert fired == [poller.ident]
    assert conn.is_closed()
    with pytest.raises(pgproto.ConnectionDoesNotExistError):
        conn.poll(0)
    with pytest.raises(pgproto.ConnectionDoesNotExistError):
        conn.fetchval("SELECT 1")
    assert fired == [poller.ident]


def test_close_from_another_thread_ends_a_waiting_poll(conn: Connection) -> None:
    fired: list[str] = []
    conn.add_termination_listener(lambda: fired.append("wrongly"))
    conn.add_listener("never", lambda channel, payload: None)
    poller = Worker(conn.poll)
    poller.start()
    time.sleep(0.05)  # lets the poll start waiting; the test holds either way
    conn.close()
    assert poller.finish() == 0
    assert fired == []
    with pytest.raises(pgproto.ConnectionDoesNotExistError):
        conn.poll(0)


def test_poll_on_a_closed_connection_raises(dsn: str) -> None:
    conn = pgproto_sync.connect(dsn)
    conn.close()
    with pytest.raises(pgproto.ConnectionDoesNotExistError):
        conn.poll(0)


def test_wait_until_helper_sees_polled_notifications(conn: Connection, other: Connection) -> None:
    got: list[str] = []
    conn.add_listener("helper", lambda channel, payload: got.append(payload))
    other.execute("NOTIFY helper, 'h'")
    wait_until(conn, lambda: got == ["h"])


@pytest.mark.parametrize("end", ["terminate", "close"])
def test_ending_the_connection_while_another_thread_queries(dsn: str, end: str) -> None:
    # The backend checks its socket during the query (PostgreSQL 14+), so it ends when the socket closes.
    conn = pgproto_sync.connect(dsn, server_settings={"client_connection_check_interval": "100ms"})
    fired: list[str] = []
    conn.add_termination_listener(lambda: fired.append("wrongly"))
    pid = conn.get_server_pid()
    querying = Worker(lambda: conn.fetchval("SELECT pg_sleep(60)"))
    querying.start()
    with pgproto_sync.connect(dsn) as admin:  # wait until the query runs on the server
        deadline = time.monotonic() + TIMEOUT
        while admin.fetchval("SELECT state FROM pg_stat_activity WHERE pid = $1", pid) != "active":
            assert time.monotonic() < deadline
            time.sleep(0.01)
    if end == "terminate":
        conn.terminate()
    else:
        conn.close(timeout=0.2)  # the query holds the connection: close gives up waiting, then terminates
    assert conn.is_closed()
    with pytest.raises(pgproto.ConnectionDoesNotExistError):
        querying.finish()
    assert fired == []
    with pytest.raises(pgproto.ConnectionDoesNotExistError):
        conn.fetchval("SELECT 1")
    wait_backend_gone(dsn, pid)
