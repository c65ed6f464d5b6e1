"""TLS against a real server (a cluster with ``ssl = on``, the `pg_tls_server` fixture): every sslmode, server
certificate verification, and the driver's whole life over TLS: large results and batches, listeners and
notifications() (delivered by poll()), log listeners, termination, many notifications behind a callback,
cancellation.

Over TLS the socket is an ssl.SSLSocket: decrypted bytes can wait in the TLS layer where select() does not see
them, which is what these tests exercise beyond the plain-socket ones.

The matching file of the anyio driver is tests/anyio/test_tls.py.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import pgproto
from pgproto_sync import Connection, connect
from tests.cluster import Cluster
from tests.connect_support import PASSWORD_USERS
from tests.tls_support import IS_ENCRYPTED, LARGE_QUERY, LARGE_ROWS, WRONG_HOST, tls_dsn

from .helpers import TIMEOUT, Worker, ident, listening, wait_until


@pytest.fixture
def dsn(pg_tls_server: Cluster) -> str:
    """The superuser of the TLS cluster, encrypted and verified (verify-full with the cluster's CA)."""
    return tls_dsn(pg_tls_server, "verify-full", ca=True)


@pytest.fixture
def conn(dsn: str) -> Iterator[Connection]:
    """A TLS connection under test."""
    with connect(dsn) as connection:
        yield connection


@pytest.fixture
def admin(dsn: str) -> Iterator[Connection]:
    """A second TLS connection, to send notifications and act on the first from outside."""
    with connect(dsn) as connection:
        yield connection


def _is_encrypted(conn: Connection) -> bool:
    value = conn.fetchval(IS_ENCRYPTED)
    assert isinstance(value, bool)
    return value


def _wait_until_listening(admin: Connection, pid: int, channel: str) -> None:
    """Wait, from another session, until backend `pid` has finished `LISTEN channel` and is idle."""
    deadline = time.monotonic() + TIMEOUT
    while admin.fetchrow(
        "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'idle' AND query = $2",
        pid,
        f"LISTEN {ident(channel)}",
    ) is None:
        assert time.monotonic() < deadline, f"backend {pid} does not listen to {channel!r} after {TIMEOUT:g} s"
        time.sleep(0.01)


# -- sslmode and verification ------------------------------------------------------------------------------


@pytest.mark.parametrize(("sslmode", "ssl_argument"), [("require", None), ("disable", "require"), ("disable", True)])
def test_require_encrypts_the_session(
    pg_tls_server: Cluster, clean_env: Path, sslmode: str, ssl_argument: str | bool | None
) -> None:
    # The ssl argument wins over the DSN's sslmode.
    with connect(tls_dsn(pg_tls_server, sslmode), ssl=ssl_argument) as conn:
        assert _is_encrypted(conn)
        row = conn.fetchrow("SELECT version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert row is not None
        assert str(row["version"]).startswith("TLS")
        assert row["cipher"]


def test_prefer_encrypts_when_the_server_offers_tls(pg_tls_server: Cluster, clean_env: Path) -> None:
    with connect(pg_tls_server.dsn()) as conn:  # no sslmode anywhere: libpq's default, prefer
        assert _is_encrypted(conn)


def test_disable_gives_an_unencrypted_session(pg_tls_server: Cluster, clean_env: Path) -> None:
    with connect(tls_dsn(pg_tls_server, "disable")) as conn:
        assert not _is_encrypted(conn)
    with connect(tls_dsn(pg_tls_server, "require"), ssl=False) as conn:
        assert not _is_encrypted(conn)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_verify_full_with_the_ca(pg_tls_server: Cluster, clean_env: Path, host: str) -> None:
    with connect(tls_dsn(pg_tls_server, "verify-full", ca=True, host=host)) as conn:
        assert _is_encrypted(conn)


def test_verify_full_with_an_ssl_context(pg_tls_server: Cluster, clean_env: Path) -> None:
    context = ssl.create_default_context(cafile=str(pg_tls_server.ca_file))
    with connect(tls_dsn(pg_tls_server, "disable"), ssl=context) as conn:
        assert _is_encrypted(conn)


def test_verify_full_with_the_wrong_host_name_fails(pg_tls_server: Cluster, clean_env: Path) -> None:
    with pytest.raises(OSError, match=f"certificate verify failed.*{WRONG_HOST}"):
        connect(tls_dsn(pg_tls_server, "verify-full", ca=True, host=WRONG_HOST)).close()


def test_verify_ca_accepts_any_host_name(pg_tls_server: Cluster, clean_env: Path) -> None:
    with connect(tls_dsn(pg_tls_server, "verify-ca", ca=True, host=WRONG_HOST)) as conn:
        assert _is_encrypted(conn)


@pytest.mark.parametrize("sslmode", ["verify-ca", "verify-full"])
def test_verify_without_the_ca_fails(pg_tls_server: Cluster, clean_env: Path, sslmode: str) -> None:
    with pytest.raises(OSError, match="certificate verify failed"):
        connect(tls_dsn(pg_tls_server, sslmode)).close()


@pytest.mark.parametrize("user", PASSWORD_USERS)
def test_password_authentication_over_tls(pg_tls_server: Cluster, clean_env: Path, user: str) -> None:
    with connect(tls_dsn(pg_tls_server, "verify-full", ca=True, user=user)) as conn:
        assert conn.fetchval("SELECT current_user") == user
        assert _is_encrypted(conn)


# -- queries ---------------------------------------------------------------------------------------------


def test_large_result_over_tls(conn: Connection) -> None:
    assert _is_encrypted(conn)
    # The simple query protocol (text), then the extended one (binary).
    for rows in (conn.fetch(LARGE_QUERY), conn.fetch(LARGE_QUERY + " WHERE g > $1", 0)):
        assert len(rows) == LARGE_ROWS
        assert tuple(rows[0]) == (1, "x" * 50 + "1")
        assert tuple(rows[-1]) == (LARGE_ROWS, "x" * 50 + str(LARGE_ROWS))
        assert [row[0] for row in rows] == list(range(1, LARGE_ROWS + 1))
    assert conn.fetchval("SELECT 'after'") == "after"


def test_large_executemany_over_tls(conn: Connection) -> None:
    count = 20_000
    payload = "y" * 100  # ~3 MB of Bind messages in all
    conn.execute("CREATE TEMPORARY TABLE batch (n int PRIMARY KEY, payload text)")
    conn.executemany("INSERT INTO batch VALUES ($1, $2)", [(n, f"{payload}{n}") for n in range(count)])
    row = conn.fetchrow("SELECT count(*), sum(n), sum(length(payload)) FROM batch")
    assert row is not None
    assert tuple(row) == (count, count * (count - 1) // 2, sum(len(f"{payload}{n}") for n in range(count)))


# -- listeners, notices, termination ------------------------------------------------------------------------


def test_listener_delivers_while_the_application_sleeps(conn: Connection, admin: Connection) -> None:
    got: list[str] = []
    expected = [str(n) for n in range(200)]
    conn.add_listener("tls events", lambda channel, payload: got.append(payload))
    assert listening(conn) == {"tls events"}
    admin.execute("SELECT pg_notify('tls events', g::text) FROM generate_series(0, 199) g")
    wait_until(conn, lambda: len(got) == len(expected))  # poll() only: no query reads for it
    assert got == expected


def test_notifications_iterator_over_tls(conn: Connection, admin: Connection) -> None:
    got: list[tuple[str, str]] = []

    def notify_when_listening() -> None:
        _wait_until_listening(admin, conn.get_server_pid(), "b")  # the iterator LISTENs a, then b
        admin.execute("NOTIFY a, '1'; NOTIFY b, '2'; NOTIFY a, '3'")

    sender = Worker(notify_when_listening)
    sender.start()
    for notification in conn.notifications("a", "b", timeout=TIMEOUT):
        assert notification.pid == admin.get_server_pid()
        got.append((notification.channel, notification.payload))
        if len(got) == 3:
            break
    sender.finish()
    assert got == [("a", "1"), ("b", "2"), ("a", "3")]
    assert listening(conn) == set()


def test_log_listener_over_tls(conn: Connection) -> None:
    messages: list[tuple[str | None, str | None]] = []
    conn.add_log_listener(lambda message: messages.append((message.severity, message.message)))
    conn.execute("DO $$ BEGIN RAISE NOTICE 'over tls'; RAISE WARNING 'still over tls'; END $$")
    assert messages == [("NOTICE", "over tls"), ("WARNING", "still over tls")]  # before execute returned


def test_termination_over_tls(conn: Connection, admin: Connection) -> None:
    fired: list[str] = []
    conn.add_termination_listener(lambda: fired.append("fired"))
    assert admin.fetchval("SELECT pg_terminate_backend($1)", conn.get_server_pid()) is True
    wait_until(conn, lambda: conn.is_closed())
    assert fired == ["fired"]
    reason = conn.termination_reason
    assert reason is not None
    assert (reason.severity, reason.sqlstate) == ("FATAL", "57P01")
    with pytest.raises(pgproto.ConnectionDoesNotExistError):
        conn.fetchval("SELECT 1")
    conn.close()  # does not raise


# -- many notifications and cancellation ------------------------------------------------------------------


def test_backpressure_over_tls_loses_nothing(dsn: str, admin: Connection) -> None:
    # This driver reads only when a call waits, so it needs no limit; with a small one, nothing is lost
    # either, also while a callback runs a query and the rest waits decrypted in the TLS layer.
    got: list[str] = []
    count = 2000
    filler = "p" * 200  # ~450 kB in all: many TLS records, more than the socket buffers
    with connect(dsn, max_pending_notifications=5) as conn:

        def callback(channel: str, payload: str) -> None:
            got.append(payload)
            if len(got) == 1:
                assert conn.fetchval("SELECT 'answered'") == "answered"

        conn.add_listener("pressure", callback)
        admin.execute(f"SELECT pg_notify('pressure', g::text || ':{filler}') FROM generate_series(1, {count}) g")
        wait_until(conn, lambda: len(got) >= count, timeout=30)
        assert got == [f"{g}:{filler}" for g in range(1, count + 1)]
        assert conn.fetchval("SELECT 1") == 1


def test_cancelled_query_over_tls(conn: Connection, admin: Connection) -> None:
    pid = conn.get_server_pid()
    with pytest.raises(TimeoutError):
        conn.fetchval("SELECT pg_sleep(60)", timeout=0.5)
    assert not conn.is_closed(), "the connection was dropped instead of the query being cancelled"
    assert conn.get_server_pid() == pid
    state = admin.fetchval("SELECT state FROM pg_stat_activity WHERE pid = $1", pid)
    assert state == "idle", "the server still runs the cancelled query"
    assert conn.fetchval("SELECT $1::text", "usable") == "usable"
    assert _is_encrypted(conn)
