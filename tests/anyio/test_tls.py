"""TLS against a real server (a cluster with ``ssl = on``, the `pg_tls_server` fixture): every sslmode, server
certificate verification, and the driver's whole life over TLS: large results and batches, listeners and
notifications() (also while the application sleeps), log listeners, termination, backpressure, cancellation.

On asyncio a TLS connection reads with the pull reader task over the driver's own asyncio stream (not the
push path of plain connections), so these are that path's tests against a server.

The matching file of the sync driver is tests/sync/test_tls.py.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

import pgproto
from pgproto_anyio import Connection, connect
from tests.cluster import Cluster
from tests.connect_support import PASSWORD_USERS
from tests.tls_support import IS_ENCRYPTED, LARGE_QUERY, LARGE_ROWS, WRONG_HOST, tls_dsn

from .support import (
    MODES,
    TIMEOUT,
    Mode,
    backend_state,
    listening,
    open_conn,
    wait_until,
    wait_until_listening,
    wait_until_running,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def dsn(pg_tls_server: Cluster) -> str:
    """The superuser of the TLS cluster, encrypted and verified (verify-full with the cluster's CA)."""
    return tls_dsn(pg_tls_server, "verify-full", ca=True)


@pytest.fixture
async def admin(dsn: str) -> AsyncIterator[Connection]:
    """A second TLS connection, to send notifications and act on the first from outside."""
    async with connect(dsn) as connection:
        yield connection


async def _is_encrypted(conn: Connection) -> bool:
    value = await conn.fetchval(IS_ENCRYPTED)
    assert isinstance(value, bool)
    return value


# -- sslmode and verification ------------------------------------------------------------------------------


@pytest.mark.parametrize(("sslmode", "ssl_argument"), [("require", None), ("disable", "require"), ("disable", True)])
async def test_require_encrypts_the_session(
    pg_tls_server: Cluster, clean_env: Path, sslmode: str, ssl_argument: str | bool | None
) -> None:
    # The ssl argument wins over the DSN's sslmode.
    with anyio.fail_after(TIMEOUT):
        async with connect(tls_dsn(pg_tls_server, sslmode), ssl=ssl_argument) as conn:
            assert await _is_encrypted(conn)
            row = await conn.fetchrow("SELECT version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            assert row is not None
            assert str(row["version"]).startswith("TLS")
            assert row["cipher"]


async def test_prefer_encrypts_when_the_server_offers_tls(pg_tls_server: Cluster, clean_env: Path) -> None:
    with anyio.fail_after(TIMEOUT):
        async with connect(pg_tls_server.dsn()) as conn:  # no sslmode anywhere: libpq's default, prefer
            assert await _is_encrypted(conn)


async def test_disable_gives_an_unencrypted_session(pg_tls_server: Cluster, clean_env: Path) -> None:
    with anyio.fail_after(TIMEOUT):
        async with connect(tls_dsn(pg_tls_server, "disable")) as conn:
            assert not await _is_encrypted(conn)
        async with connect(tls_dsn(pg_tls_server, "require"), ssl=False) as conn:
            assert not await _is_encrypted(conn)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_verify_full_with_the_ca(pg_tls_server: Cluster, clean_env: Path, host: str) -> None:
    with anyio.fail_after(TIMEOUT):
        async with connect(tls_dsn(pg_tls_server, "verify-full", ca=True, host=host)) as conn:
            assert await _is_encrypted(conn)


async def test_verify_full_with_an_ssl_context(pg_tls_server: Cluster, clean_env: Path) -> None:
    context = ssl.create_default_context(cafile=str(pg_tls_server.ca_file))
    with anyio.fail_after(TIMEOUT):
        async with connect(tls_dsn(pg_tls_server, "disable"), ssl=context) as conn:
            assert await _is_encrypted(conn)


async def test_verify_full_with_the_wrong_host_name_fails(pg_tls_server: Cluster, clean_env: Path) -> None:
    with anyio.fail_after(TIMEOUT), pytest.raises(OSError, match=f"certificate verify failed.*{WRONG_HOST}"):
        conn = await connect(tls_dsn(pg_tls_server, "verify-full", ca=True, host=WRONG_HOST))
        await conn.close()


async def test_verify_ca_accepts_any_host_name(pg_tls_server: Cluster, clean_env: Path) -> None:
    with anyio.fail_after(TIMEOUT):
        async with connect(tls_dsn(pg_tls_server, "verify-ca", ca=True, host=WRONG_HOST)) as conn:
            assert await _is_encrypted(conn)


@pytest.mark.parametrize("sslmode", ["verify-ca", "verify-full"])
async def test_verify_without_the_ca_fails(pg_tls_server: Cluster, clean_env: Path, sslmode: str) -> None:
    with anyio.fail_after(TIMEOUT), pytest.raises(OSError, match="certificate verify failed"):
        conn = await connect(tls_dsn(pg_tls_server, sslmode))
        await conn.close()


@pytest.mark.parametrize("user", PASSWORD_USERS)
async def test_password_authentication_over_tls(pg_tls_server: Cluster, clean_env: Path, user: str) -> None:
    with anyio.fail_after(TIMEOUT):
        async with connect(tls_dsn(pg_tls_server, "verify-full", ca=True, user=user)) as conn:
            assert await conn.fetchval("SELECT current_user") == user
            assert await _is_encrypted(conn)


# -- queries ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_large_result_over_tls(dsn: str, mode: Mode) -> None:
    with anyio.fail_after(60):
        async with open_conn(dsn, mode) as conn:
            assert await _is_encrypted(conn)
            # The simple query protocol (text), then the extended one (binary).
            for rows in (await conn.fetch(LARGE_QUERY), await conn.fetch(LARGE_QUERY + " WHERE g > $1", 0)):
                assert len(rows) == LARGE_ROWS
                assert tuple(rows[0]) == (1, "x" * 50 + "1")
                assert tuple(rows[-1]) == (LARGE_ROWS, "x" * 50 + str(LARGE_ROWS))
                assert [row[0] for row in rows] == list(range(1, LARGE_ROWS + 1))
            assert await conn.fetchval("SELECT 'after'") == "after"


@pytest.mark.parametrize("mode", MODES)
async def test_large_executemany_over_tls(dsn: str, mode: Mode) -> None:
    count = 20_000
    payload = "y" * 100  # ~3 MB of Bind messages in all
    with anyio.fail_after(60):
        async with open_conn(dsn, mode) as conn:
            await conn.execute("CREATE TEMPORARY TABLE batch (n int PRIMARY KEY, payload text)")
            await conn.executemany("INSERT INTO batch VALUES ($1, $2)", [(n, f"{payload}{n}") for n in range(count)])
            row = await conn.fetchrow("SELECT count(*), sum(n), sum(length(payload)) FROM batch")
            assert row is not None
            assert tuple(row) == (count, count * (count - 1) // 2, sum(len(f"{payload}{n}") for n in range(count)))


# -- listeners, notices, termination ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_listener_delivers_while_the_application_sleeps(dsn: str, admin: Connection, mode: Mode) -> None:
    plain: list[str] = []
    awaited: list[str] = []

    async def async_callback(channel: str, payload: str) -> None:
        await anyio.sleep(0)
        awaited.append(payload)

    expected = [str(n) for n in range(200)]
    with anyio.fail_after(TIMEOUT):
        async with open_conn(dsn, mode) as conn:
            await conn.add_listener("tls events", lambda channel, payload: plain.append(payload))
            await conn.add_listener("tls events", async_callback)
            assert await listening(conn) == {"tls events"}
            await admin.execute("SELECT pg_notify('tls events', g::text) FROM generate_series(0, 199) g")
            # Only anyio.sleep from here on: no call on `conn` gives the driver a chance to read.
            await wait_until(lambda: len(plain) == len(awaited) == len(expected))
            assert plain == expected
            assert awaited == expected


async def test_notifications_iterator_over_tls(dsn: str, admin: Connection) -> None:
    got: list[tuple[str, str]] = []
    with anyio.fail_after(TIMEOUT):
        async with connect(dsn) as conn:
            async with anyio.create_task_group() as tasks:

                async def notify_when_listening() -> None:
                    await wait_until_listening(conn, "a", "b")  # the iterator LISTENs at its first step
                    await admin.execute("NOTIFY a, '1'; NOTIFY b, '2'; NOTIFY a, '3'")

                tasks.start_soon(notify_when_listening)
                async for notification in conn.notifications("a", "b"):
                    assert notification.pid == admin.get_server_pid()
                    got.append((notification.channel, notification.payload))
                    if len(got) == 3:
                        break
            assert got == [("a", "1"), ("b", "2"), ("a", "3")]
            assert await listening(conn) == set()


async def test_log_listener_over_tls(dsn: str) -> None:
    messages: list[tuple[str | None, str | None]] = []
    with anyio.fail_after(TIMEOUT):
        async with connect(dsn) as conn:
            conn.add_log_listener(lambda message: messages.append((message.severity, message.message)))
            await conn.execute("DO $$ BEGIN RAISE NOTICE 'over tls'; RAISE WARNING 'still over tls'; END $$")
            assert messages == [("NOTICE", "over tls"), ("WARNING", "still over tls")]  # before execute returned


@pytest.mark.parametrize("mode", MODES)
async def test_termination_over_tls(dsn: str, admin: Connection, mode: Mode) -> None:
    fired: list[str] = []

    async def awaited() -> None:
        await anyio.sleep(0)
        fired.append("async")

    with anyio.fail_after(TIMEOUT):
        async with open_conn(dsn, mode) as conn:
            conn.add_termination_listener(lambda: fired.append("plain"))
            conn.add_termination_listener(awaited)
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", conn.get_server_pid()) is True
            await wait_until(lambda: len(fired) == 2)  # anyio.sleep only: the reader notices by itself
            assert sorted(fired) == ["async", "plain"]
            assert conn.is_closed()
            reason = conn.termination_reason
            assert reason is not None
            assert (reason.severity, reason.sqlstate) == ("FATAL", "57P01")
            with pytest.raises(pgproto.ConnectionDoesNotExistError):
                await conn.fetchval("SELECT 1")
            await conn.close()  # does not raise


# -- backpressure and cancellation ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_backpressure_over_tls_loses_nothing(dsn: str, admin: Connection, mode: Mode) -> None:
    gate = anyio.Event()
    got: list[str] = []
    count = 2000
    filler = "p" * 200  # ~450 kB in all: many TLS records, more than the socket buffers

    async def slow(channel: str, payload: str) -> None:
        got.append(payload)
        if len(got) == 1:
            await gate.wait()
        else:
            await anyio.sleep(0)

    async with open_conn(dsn, mode, max_pending_notifications=5) as conn:
        with anyio.fail_after(TIMEOUT):
            try:
                await conn.add_listener("pressure", slow)
                await admin.execute(
                    f"SELECT pg_notify('pressure', g::text || ':{filler}') FROM generate_series(1, {count}) g"
                )
                await wait_until(lambda: got)
                await anyio.sleep(0.1)  # the reader reaches its limit and stops reading
                assert len(got) == 1
                # The reader pauses, but a query of the application is still answered.
                assert await conn.fetchval("SELECT 'answered'") == "answered"
            finally:
                gate.set()
        await wait_until(lambda: len(got) >= count, timeout=30)
        assert got == [f"{g}:{filler}" for g in range(1, count + 1)]
        with anyio.fail_after(TIMEOUT):
            assert await conn.fetchval("SELECT 1") == 1


async def _assert_cancelled_and_usable(conn: Connection, admin: Connection, pid: int) -> None:
    assert not conn.is_closed(), "the connection was dropped instead of the query being cancelled"
    assert conn.get_server_pid() == pid
    state, _query = await backend_state(admin, pid)
    assert state == "idle", "the server still runs the cancelled query"
    assert await conn.fetchval("SELECT $1::text", "usable") == "usable"
    assert await _is_encrypted(conn)


async def test_cancelled_query_over_tls(dsn: str, admin: Connection) -> None:
    query = "SELECT pg_sleep(60)"  # longer than the test may take: still running at the end means not cancelled
    with anyio.fail_after(TIMEOUT):
        async with connect(dsn) as conn:
            pid = conn.get_server_pid()
            with pytest.raises(TimeoutError):
                await conn.fetchval(query, timeout=0.5)
            await _assert_cancelled_and_usable(conn, admin, pid)

            # Cancelled once the server is seen running it.
            async with anyio.create_task_group() as tasks:
                with anyio.CancelScope() as scope:

                    async def cancel_when_running() -> None:
                        await wait_until_running(admin, pid, query)
                        scope.cancel()

                    tasks.start_soon(cancel_when_running)
                    await conn.fetchval(query)
            assert scope.cancelled_caught
            await _assert_cancelled_and_usable(conn, admin, pid)
