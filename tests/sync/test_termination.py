"""Losing the connection: termination listeners fire exactly once (not for close() or terminate()),
termination_reason says why, later calls raise ConnectionDoesNotExistError, close() still does not raise.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Iterator

import pytest

import pgproto
import pgproto_sync
from pgproto_sync import Connection
from tests.cluster import Cluster, Server, find_installations

from .helpers import TIMEOUT, Worker, terminate_backend, wait_until


def _assert_unusable(conn: Connection) -> None:
    assert conn.is_closed()
    with pytest.raises(pgproto.ConnectionDoesNotExistError):
        conn.fetchval("SELECT 1")
    with pytest.raises(pgproto.ConnectionDoesNotExistError):
        conn.execute("SELECT 1")
    with pytest.raises(pgproto.ConnectionDoesNotExistError):
        conn.poll(0)
    with pytest.raises(pgproto.ConnectionDoesNotExistError):
        conn.add_listener("too_late", lambda channel, payload: None)
    conn.remove_listener("too_late", lambda channel, payload: None)  # a no-op, as always
    conn.close()
    conn.close()
    conn.terminate()


def test_poll_finds_pg_terminate_backend(conn: Connection, dsn: str) -> None:
    fired: list[str] = []
    conn.add_termination_listener(lambda: fired.append("first"))
    conn.add_termination_listener(lambda: fired.append("second"))
    assert conn.termination_reason is None
    terminate_backend(dsn, conn.get_server_pid())
    wait_until(conn, lambda: conn.is_closed())
    assert fired == ["first", "second"]
    reason = conn.termination_reason
    assert reason is not None
    assert (reason.severity, reason.sqlstate) == ("FATAL", "57P01")
    assert "terminating connection" in str(reason.message)
    _assert_unusable(conn)
    assert fired == ["first", "second"], "exactly once"


def test_a_query_finds_the_connection_lost(conn: Connection, dsn: str) -> None:
    fired: list[bool] = []
    conn.add_termination_listener(lambda: fired.append(conn.is_closed()))
    terminate_backend(dsn, conn.get_server_pid())
    with pytest.raises(pgproto.ConnectionDoesNotExistError):
        conn.fetchval("SELECT 1")
    assert fired == [True], "fired by the end of the call that found the loss"
    assert conn.termination_reason is not None and conn.termination_reason.sqlstate == "57P01"
    _assert_unusable(conn)
    assert fired == [True]


def test_a_query_running_when_the_backend_is_terminated(conn: Connection, dsn: str) -> None:
    fired: list[str] = []
    conn.add_termination_listener(lambda: fired.append("lost"))
    pid = conn.get_server_pid()
    killer = threading.Timer(0.2, terminate_backend, (dsn, pid))
    killer.start()
    try:
        with pytest.raises(pgproto.ConnectionDoesNotExistError, match="terminating connection"):
            conn.fetchval("SELECT pg_sleep(30)")
    finally:
        killer.join(TIMEOUT)
    assert fired == ["lost"]
    _assert_unusable(conn)


def test_lost_inside_a_transaction_block(conn: Connection, dsn: str) -> None:
    fired: list[str] = []
    conn.add_termination_listener(lambda: fired.append("lost"))
    with pytest.raises(pgproto.ConnectionDoesNotExistError), conn.transaction():
        conn.execute("SELECT 1")
        terminate_backend(dsn, conn.get_server_pid())
        conn.execute("SELECT 2")
    assert fired == ["lost"]
    _assert_unusable(conn)


def test_a_fatal_error_ends_the_session(conn: Connection) -> None:
    fired: list[str] = []
    conn.add_termination_listener(lambda: fired.append("lost"))
    conn.execute("SET idle_session_timeout = '100ms'")
    wait_until(conn, lambda: conn.is_closed())
    assert fired == ["lost"]
    reason = conn.termination_reason
    assert reason is not None and (reason.severity, reason.sqlstate) == ("FATAL", "57P05")
    _assert_unusable(conn)


def test_not_fired_by_close_or_terminate(dsn: str) -> None:
    fired: list[str] = []
    for end in (Connection.close, Connection.terminate):
        conn = pgproto_sync.connect(dsn)
        conn.add_termination_listener(lambda: fired.append("wrongly"))
        end(conn)
        assert conn.is_closed()
        assert conn.termination_reason is None
        with pytest.raises(pgproto.ConnectionDoesNotExistError):
            conn.poll(0)
        conn.close()
    with pgproto_sync.connect(dsn) as conn:
        conn.add_termination_listener(lambda: fired.append("wrongly"))
    assert fired == []


def test_removed_termination_listener_is_not_called(conn: Connection, dsn: str) -> None:
    fired: list[str] = []

    def removed() -> None:
        fired.append("removed")

    conn.remove_termination_listener(removed)  # never added: a no-op
    conn.add_termination_listener(removed)
    conn.add_termination_listener(lambda: fired.append("kept"))
    conn.remove_termination_listener(removed)
    terminate_backend(dsn, conn.get_server_pid())
    wait_until(conn, lambda: conn.is_closed())
    assert fired == ["kept"]


def test_a_raising_termination_listener_is_logged_and_the_others_still_run(
    conn: Connection, dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="pgproto")
    fired: list[str] = []

    def bad() -> None:
        raise RuntimeError("termination boom")

    conn.add_termination_listener(bad)
    conn.add_termination_listener(lambda: fired.append("good"))
    terminate_backend(dsn, conn.get_server_pid())
    wait_until(conn, lambda: conn.is_closed())
    assert fired == ["good"]
    assert "termination boom" in caplog.text and "Traceback" in caplog.text


@contextlib.contextmanager
def _proxy(server: Server) -> Iterator[tuple[int, threading.Event]]:
    """A TCP proxy to the server for one connection; setting the event closes both sockets (no FATAL sent)."""
    cut = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)

    def relay(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)

    def serve() -> None:
        client, _ = listener.accept()
        upstream = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
        client.settimeout(None)
        upstream.settimeout(None)
        threads = [threading.Thread(target=relay, args=pair, daemon=True)
                   for pair in ((client, upstream), (upstream, client))]  # fmt: skip
        for thread in threads:
            thread.start()
        cut.wait(TIMEOUT * 3)
        for sock in (client, upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in threads:
            thread.join(TIMEOUT)

    server_thread = threading.Thread(target=serve, daemon=True)
    server_thread.start()
    try:
        yield listener.getsockname()[1], cut
    finally:
        cut.set()
        server_thread.join(TIMEOUT)
        listener.close()


def test_network_loss_gives_no_reason(pg_server: Server) -> None:
    fired: list[str] = []
    with _proxy(pg_server) as (port, cut):
        conn = pgproto_sync.connect(host="127.0.0.1", port=port, user="postgres", database=pg_server.dbname,
                                    ssl=False)  # fmt: skip
        conn.add_termination_listener(lambda: fired.append("lost"))
        assert conn.fetchval("SELECT 1") == 1
        cut.set()
        wait_until(conn, lambda: conn.is_closed())
    assert fired == ["lost"]
    assert conn.termination_reason is None
    _assert_unusable(conn)


def test_server_shutdown() -> None:
    # A cluster of its own: the session's server must outlive this test.
    installations = find_installations()
    if not installations:
        if os.environ.get("PGPROTO_TEST_DSN"):
            pytest.skip("stopping a server needs a cluster of our own, and no PostgreSQL binaries were found")
        pytest.fail("no PostgreSQL binaries found for a cluster of our own")
    with Cluster(installations[0], auth_users=False) as cluster:
        fired: list[str] = []
        busy = pgproto_sync.connect(cluster.dsn())
        idle = pgproto_sync.connect(cluster.dsn())
        busy.add_termination_listener(lambda: fired.append("busy"))
        idle.add_termination_listener(lambda: fired.append("idle"))
        querying = Worker(lambda: busy.fetchval("SELECT pg_sleep(60)"))
        querying.start()
        polling = Worker(idle.poll)
        polling.start()
        cluster.stop()  # fast shutdown, as `pg_ctl stop` does
        with pytest.raises(pgproto.ConnectionDoesNotExistError):
            querying.finish()
        assert polling.finish() == 0
        assert sorted(fired) == ["busy", "idle"]
        for conn in (busy, idle):
            reason = conn.termination_reason
            assert reason is not None and (reason.severity, reason.sqlstate) == ("FATAL", "57P01")
            _assert_unusable(conn)
        assert sorted(fired) == ["busy", "idle"]
