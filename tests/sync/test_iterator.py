"""notifications(*channels, timeout=None): LISTENs, yields pgproto.Notification, stops after `timeout` seconds
without one, and UNLISTENs however the iteration ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

import pgproto
from pgproto_sync import Connection

from .helpers import TIMEOUT, Worker, listening, terminate_backend


@contextmanager
def soon(action: Callable[[], object]) -> Iterator[None]:
    """Run `action` in a thread a moment after the block starts (the iterator LISTENs first)."""
    timer = threading.Timer(0.1, action)
    timer.start()
    try:
        yield
    finally:
        timer.join(TIMEOUT)


def test_in_order_with_pid_then_unlistened_after_break(conn: Connection, other: Connection) -> None:
    got: list[pgproto.Notification] = []
    with soon(lambda: other.execute("NOTIFY jobs, 'j1'; NOTIFY alerts, 'a1'; NOTIFY jobs, 'j2'")):
        for notification in conn.notifications("jobs", "alerts", timeout=TIMEOUT):
            if not got:
                assert listening(conn) == {"jobs", "alerts"}
            got.append(notification)
            if len(got) == 3:
                break
    assert [(n.channel, n.payload) for n in got] == [("jobs", "j1"), ("alerts", "a1"), ("jobs", "j2")]
    assert all(isinstance(n, pgproto.Notification) and n.pid == other.get_server_pid() for n in got)
    assert listening(conn) == set()


def test_stops_after_the_timeout_without_a_notification(conn: Connection) -> None:
    assert list(conn.notifications("silence", timeout=0.2)) == []
    assert listening(conn) == set()


def test_the_timeout_counts_from_the_last_notification(conn: Connection, other: Connection) -> None:
    def send_spaced() -> None:
        for i in range(5):
            other.execute("SELECT pg_notify('steady', $1), pg_sleep(0.05)", str(i))

    sender = Worker(send_spaced)
    with soon(sender.start):
        payloads = [n.payload for n in conn.notifications("steady", timeout=5)]
    sender.finish()
    assert payloads == ["0", "1", "2", "3", "4"]
    assert listening(conn) == set()


def test_an_exception_in_the_loop_unlistens(conn: Connection, other: Connection) -> None:
    with pytest.raises(LookupError), soon(lambda: other.execute("NOTIFY failing, 'x'")):
        for _ in conn.notifications("failing", timeout=TIMEOUT):
            raise LookupError("the consumer failed")
    assert listening(conn) == set()
    assert conn.fetchval("SELECT 1") == 1


def test_closing_the_iterator_unlistens(conn: Connection, other: Connection) -> None:
    iterator = conn.notifications("closed_early", timeout=TIMEOUT)
    with soon(lambda: other.execute("NOTIFY closed_early, 'x'")):
        assert next(iterator).payload == "x"
    assert listening(conn) == {"closed_early"}
    iterator.close()
    assert listening(conn) == set()


def test_callbacks_on_the_same_channel_keep_their_listen(conn: Connection, other: Connection) -> None:
    seen: list[str] = []
    conn.add_listener("shared", lambda channel, payload: seen.append(payload))
    with soon(lambda: other.execute("NOTIFY shared, 's1'")):
        for notification in conn.notifications("shared", timeout=TIMEOUT):
            assert notification.payload == "s1"
            break
    assert seen == ["s1"]
    assert listening(conn) == {"shared"}, "the callback still listens"


def test_connection_lost_while_iterating(conn: Connection, dsn: str) -> None:
    fired: list[str] = []
    conn.add_termination_listener(lambda: fired.append("lost"))
    pid = conn.get_server_pid()
    lost = pytest.raises(pgproto.ConnectionDoesNotExistError, match="was lost")
    with lost, soon(lambda: terminate_backend(dsn, pid)):
        for _ in conn.notifications("doomed"):
            raise AssertionError("nothing was sent")
    assert fired == ["lost"]
    assert conn.is_closed()


def test_terminate_while_iterating_says_the_application_closed_it(conn: Connection, other: Connection) -> None:
    got: list[str] = []
    closed_by_us = r"closed by close\(\) or terminate\(\) before"
    closed = pytest.raises(pgproto.ConnectionDoesNotExistError, match=closed_by_us)
    with soon(lambda: other.execute("NOTIFY ended, 'first'")), closed:
        for notification in conn.notifications("ended", timeout=TIMEOUT):
            got.append(notification.payload)
            conn.terminate()
    assert got == ["first"]
    assert conn.is_closed()


def test_needs_a_channel(conn: Connection) -> None:
    with pytest.raises(pgproto.InterfaceError):
        next(conn.notifications())
