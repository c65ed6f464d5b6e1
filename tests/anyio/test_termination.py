"""Termination listeners, termination_reason, and what a lost connection does to calls waiting on it.

The session ends by pg_terminate_backend from another connection, by a FATAL error (idle_session_timeout),
or by the socket closing without a word (a TCP proxy that the test cuts).

The matching file of the sync driver is tests/sync/test_termination.py.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import anyio.abc
import anyio.to_thread
import pytest

import pgproto_anyio
from pgproto_anyio import Connection, connect
from tests.cluster import Cluster, Server, find_installations

from .support import MODES, TIMEOUT, Mode, logged_errors, open_conn, wait_until, wait_until_running

pytestmark = pytest.mark.anyio


@pytest.fixture
async def admin(dsn: str) -> AsyncIterator[Connection]:
    async with connect(dsn) as connection:
        yield connection


async def _kill(admin: Connection, conn: Connection) -> None:
    assert await admin.fetchval("SELECT pg_terminate_backend($1)", conn.get_server_pid()) is True


def _every_call(conn: Connection) -> dict[str, Callable[[], Awaitable[object]]]:
    return {
        "execute": lambda: conn.execute("SELECT 1"),
        "execute-with-args": lambda: conn.execute("SELECT $1::int", 1),
        "fetch": lambda: conn.fetch("SELECT 1"),
        "fetchrow": lambda: conn.fetchrow("SELECT 1"),
        "fetchval": lambda: conn.fetchval("SELECT 1"),
        "executemany": lambda: conn.executemany("SELECT $1::int", [(1,)]),
        "add_listener": lambda: conn.add_listener("late", lambda channel, payload: None),
        "transaction": lambda: conn.transaction().start(),
    }


async def _assert_every_call_fails(conn: Connection) -> None:
    for name, call in _every_call(conn).items():
        with pytest.raises(pgproto_anyio.ConnectionDoesNotExistError):
            await call()
        assert conn.is_closed(), name


@pytest.mark.parametrize("mode", MODES)
async def test_pg_terminate_backend_while_the_application_sleeps(admin: Connection, dsn: str, mode: Mode) -> None:
    fired: list[str] = []

    def plain() -> None:
        fired.append("plain")

    async def awaited() -> None:
        await anyio.sleep(0)
        fired.append("async")

    async with open_conn(dsn, mode) as conn:
        conn.add_termination_listener(plain)
        conn.add_termination_listener(awaited)
        assert conn.termination_reason is None
        await _kill(admin, conn)
        await wait_until(lambda: len(fired) == 2)  # anyio.sleep only: the reader notices by itself
        assert sorted(fired) == ["async", "plain"]
        assert conn.is_closed()
        reason = conn.termination_reason
        assert reason is not None
        assert (reason.severity, reason.sqlstate) == ("FATAL", "57P01")
        assert reason.message == "terminating connection due to administrator command"
        await _assert_every_call_fails(conn)
        await conn.close()  # does not raise
        await conn.close()
        conn.terminate()
        await conn.remove_listener("late", lambda channel, payload: None)  # nothing to undo: no-op
    await anyio.sleep(0.05)
    assert sorted(fired) == ["async", "plain"], "fired exactly once"


@pytest.mark.parametrize("mode", MODES)
async def test_pg_terminate_backend_while_the_application_sleeps_right_after_queries(
    admin: Connection, dsn: str, mode: Mode
) -> None:
    # After queries whose answers the calling task read itself, the reader task reads again (issue 6).
    fired: list[str] = []
    async with open_conn(dsn, mode) as conn:
        conn.add_termination_listener(lambda: fired.append("fired"))
        for value in range(20):
            assert await conn.fetchval("SELECT $1::int", value) == value
        await _kill(admin, conn)
        await wait_until(lambda: fired)  # anyio.sleep only
        assert conn.is_closed()
        assert conn.termination_reason is not None
        assert conn.termination_reason.sqlstate == "57P01"
    assert fired == ["fired"]


@pytest.mark.parametrize("mode", MODES)
async def test_pending_and_queued_calls_fail(admin: Connection, dsn: str, mode: Mode) -> None:
    fired: list[str] = []
    outcomes: list[BaseException] = []

    async def call(query: str) -> None:
        try:
            await conn.fetchval(query)
        except pgproto_anyio.ConnectionDoesNotExistError as exc:
            outcomes.append(exc)

    async with open_conn(dsn, mode) as conn:
        conn.add_termination_listener(lambda: fired.append("fired"))
        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(call, "SELECT pg_sleep(60)")
                await wait_until_running(admin, conn.get_server_pid(), "SELECT pg_sleep(60)")
                for _ in range(3):
                    tasks.start_soon(call, "SELECT 1")  # waiting for the connection
                await anyio.sleep(0.05)
                await _kill(admin, conn)
        assert len(outcomes) == 4
        assert "terminating connection due to administrator command" in str(outcomes[0])
        assert fired == ["fired"]
        assert conn.is_closed()


async def test_fatal_error_while_idle(dsn: str) -> None:
    fired: list[object] = []
    async with connect(dsn) as conn:
        conn.add_termination_listener(lambda: fired.append(conn.termination_reason))
        await conn.execute("SET idle_session_timeout = '100ms'")
        await wait_until(lambda: fired)
        reason = fired[0]
        assert isinstance(reason, pgproto_anyio.Notice)
        assert (reason.severity, reason.sqlstate) == ("FATAL", "57P05")
        assert conn.is_closed()
        with pytest.raises(pgproto_anyio.ConnectionDoesNotExistError):
            await conn.fetchval("SELECT 1")


class Proxy:
    """A TCP proxy to the test server whose connections the test can cut (a network loss, no FATAL)."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self._links: list[anyio.CancelScope] = []
        self.port = 0

    async def serve(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        task_status.started()
        await listener.serve(self._link)

    async def _link(self, client: anyio.abc.SocketStream) -> None:
        with anyio.CancelScope() as scope:
            self._links.append(scope)
            server = await anyio.connect_tcp(self._server.host, self._server.port)
            async with client, server, anyio.create_task_group() as tasks:
                tasks.start_soon(_pump, client, server)
                tasks.start_soon(_pump, server, client)

    def cut(self) -> None:
        """Close every proxied connection at once."""
        for scope in self._links:
            scope.cancel()


async def _pump(source: anyio.abc.SocketStream, sink: anyio.abc.SocketStream) -> None:
    async for chunk in source:
        await sink.send(chunk)


@pytest.mark.parametrize("mode", MODES)
async def test_socket_closed_without_a_word(pg_server: Server, dsn: str, mode: Mode) -> None:
    fired: list[str] = []
    failures: list[BaseException] = []
    proxy = Proxy(pg_server)
    async with anyio.create_task_group() as proxy_tasks:
        await proxy_tasks.start(proxy.serve)
        async with open_conn(f"{dsn}?sslmode=disable&port={proxy.port}", mode) as conn:
            assert await conn.fetchval("SELECT 'through the proxy'") == "through the proxy"
            conn.add_termination_listener(lambda: fired.append("fired"))

            async def pending() -> None:
                try:
                    await conn.fetchval("SELECT pg_sleep(60)")
                except pgproto_anyio.ConnectionDoesNotExistError as exc:
                    failures.append(exc)

            with anyio.fail_after(TIMEOUT):
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(pending)
                    await anyio.sleep(0.1)
                    proxy.cut()
            assert len(failures) == 1
            assert fired == ["fired"]
            assert conn.is_closed()
            assert conn.termination_reason is None
            await _assert_every_call_fails(conn)
        proxy_tasks.cancel_scope.cancel()
    assert fired == ["fired"]


@pytest.mark.parametrize("how", ["close", "terminate", "async with"])
async def test_not_fired_by_close_or_terminate(dsn: str, how: str) -> None:
    fired: list[str] = []

    async def awaited() -> None:
        fired.append("async")

    if how == "async with":
        async with connect(dsn) as conn:
            conn.add_termination_listener(lambda: fired.append("plain"))
            conn.add_termination_listener(awaited)
    else:
        conn = await connect(dsn)
        conn.add_termination_listener(lambda: fired.append("plain"))
        conn.add_termination_listener(awaited)
        if how == "close":
            await conn.close()
        else:
            conn.terminate()
    assert conn.is_closed()
    await anyio.sleep(0.1)
    assert fired == []
    assert conn.termination_reason is None
    with pytest.raises(pgproto_anyio.ConnectionDoesNotExistError):
        await conn.fetchval("SELECT 1")


async def test_removed_termination_listener_does_not_fire(admin: Connection, dsn: str) -> None:
    fired: list[str] = []

    def kept() -> None:
        fired.append("kept")

    def removed() -> None:
        fired.append("removed")

    def never_added() -> None:
        raise AssertionError("never added")

    async with connect(dsn) as conn:
        conn.add_termination_listener(removed)
        conn.add_termination_listener(kept)
        conn.add_termination_listener(kept)  # once only
        conn.remove_termination_listener(removed)
        conn.remove_termination_listener(never_added)  # no-op
        await _kill(admin, conn)
        await wait_until(lambda: fired)
        await anyio.sleep(0.05)
        assert fired == ["kept"]


async def test_raising_termination_listeners_are_logged_and_the_others_still_run(
    admin: Connection, dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="pgproto")
    fired: list[str] = []

    def bad_plain() -> None:
        raise RuntimeError("plain boom")

    async def bad_async() -> None:
        await anyio.sleep(0)
        raise ValueError("async boom")

    async def good() -> None:
        fired.append("good")

    async with connect(dsn) as conn:
        for callback in (bad_plain, bad_async, good):
            conn.add_termination_listener(callback)
        await _kill(admin, conn)
        await wait_until(lambda: fired and len(logged_errors(caplog)) >= 2)
        await anyio.sleep(0.05)
        assert fired == ["good"]
        assert conn.is_closed()
    errors = logged_errors(caplog)
    assert sorted(str(r.exc_info[1]) for r in errors if r.exc_info) == ["async boom", "plain boom"]
    assert all(r.exc_info and r.exc_info[2] is not None for r in errors), "with traceback"
    assert await admin.fetchval("SELECT 'admin unaffected'") == "admin unaffected"


async def _forgotten_connection(dsn: str, fired: list[str]) -> int:
    conn = await connect(dsn)

    async def awaited() -> None:
        fired.append("async")

    conn.add_termination_listener(awaited)
    return conn.get_server_pid()


async def test_a_connection_nobody_references_still_reports_its_termination(admin: Connection, dsn: str) -> None:
    fired: list[str] = []
    pid = await _forgotten_connection(dsn, fired)
    gc.collect()
    assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid) is True
    await wait_until(lambda: fired)
    assert fired == ["async"]


async def test_server_shutdown(anyio_backend: str) -> None:
    # A cluster of its own: the session's server must outlive this test.
    installations = find_installations()
    if not installations:
        if os.environ.get("PGPROTO_TEST_DSN"):
            pytest.skip("stopping a server needs a cluster of our own, and no PostgreSQL binaries were found")
        pytest.fail("no PostgreSQL binaries found for a cluster of our own")
    cluster = Cluster(installations[0], auth_users=False)
    await anyio.to_thread.run_sync(cluster.start)
    try:
        fired: list[str] = []
        failures: list[BaseException] = []
        async with connect(cluster.dsn()) as conn:
            conn.add_termination_listener(lambda: fired.append("plain"))

            async def pending() -> None:
                try:
                    await conn.fetchval("SELECT pg_sleep(60)")
                except pgproto_anyio.ConnectionDoesNotExistError as exc:
                    failures.append(exc)

            with anyio.fail_after(TIMEOUT * 3):
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(pending)
                    await anyio.sleep(0.1)
                    await anyio.to_thread.run_sync(cluster.stop)  # fast shutdown, as `pg_ctl stop` does
            assert fired == ["plain"]
            assert len(failures) == 1
            reason = conn.termination_reason
            assert reason is not None and (reason.severity, reason.sqlstate) == ("FATAL", "57P01")
            await _assert_every_call_fails(conn)
    finally:
        await anyio.to_thread.run_sync(cluster.stop)
    assert fired == ["plain"]
