"""connect(): DSN forms, keyword arguments, PG* variables, .pgpass, TCP and Unix sockets, every auth method,
the errors a refused or unreachable server gives, timeouts, and opening and closing a connection.

The matching file of the anyio driver is tests/anyio/test_connect.py.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

import pgproto
import pgproto_sync
from pgproto._shared import _environment
from pgproto_sync import Connection, connect
from tests.cluster import Server
from tests.connect_support import ALL_USERS, PASSWORD_USERS, closed_port, socket_dir, write_passfile

from .helpers import wait_backend_gone


def _identity(conn: Connection) -> tuple[object, object, object]:
    """(current_user, current_database(), server address or None for a Unix socket)."""
    row = conn.fetchrow("SELECT current_user, current_database(), host(inet_server_addr())")
    assert row is not None
    return row[0], row[1], row[2]


# -- DSN forms and where the parameters come from ------------------------------------------------------------


def test_uri_dsn(pg_auth_server: Server, clean_env: Path) -> None:
    conn = connect(pg_auth_server.dsn("pgproto_scram"))
    try:
        assert _identity(conn) == ("pgproto_scram", pg_auth_server.dbname, "127.0.0.1")
    finally:
        conn.close()


def test_key_value_dsn(pg_auth_server: Server, clean_env: Path) -> None:
    s = pg_auth_server
    dsn = (
        f"host={s.host} port={s.port} user=pgproto_scram password='pgproto_scram' "
        f"dbname = {s.dbname} application_name='key value app'"
    )
    with connect(dsn) as conn:
        assert _identity(conn) == ("pgproto_scram", s.dbname, "127.0.0.1")
        assert conn.fetchval("SHOW application_name") == "key value app"


def test_uri_query_parameters(pg_server: Server, clean_env: Path) -> None:
    with connect(pg_server.dsn() + "?application_name=from%20uri&connect_timeout=5") as conn:
        assert conn.fetchval("SHOW application_name") == "from uri"


def test_keyword_arguments_override_the_dsn(pg_auth_server: Server, clean_env: Path) -> None:
    s = pg_auth_server
    # Every part of this DSN is wrong; each keyword argument must win over it.
    dsn = f"postgresql://nobody:wrong@192.0.2.1:{closed_port()}/no_such_database"
    with connect(dsn, host=s.host, port=s.port, user="pgproto_md5", password="pgproto_md5", database=s.dbname) as conn:
        assert _identity(conn) == ("pgproto_md5", s.dbname, "127.0.0.1")


def test_port_argument_as_str(pg_server: Server, clean_env: Path) -> None:
    with connect(host=pg_server.host, port=str(pg_server.port), user="postgres", database=pg_server.dbname) as conn:
        assert conn.fetchval("SELECT 1") == 1


def test_environment_variables_alone(pg_auth_server: Server, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = pg_auth_server
    monkeypatch.setenv("PGHOST", s.host)
    monkeypatch.setenv("PGPORT", str(s.port))
    monkeypatch.setenv("PGUSER", "pgproto_scram")
    monkeypatch.setenv("PGPASSWORD", "pgproto_scram")
    monkeypatch.setenv("PGDATABASE", s.dbname)
    with connect() as conn:
        assert _identity(conn) == ("pgproto_scram", s.dbname, "127.0.0.1")


def test_dsn_wins_over_environment(pg_auth_server: Server, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = pg_auth_server
    monkeypatch.setenv("PGHOST", "192.0.2.1")  # TEST-NET-1: never reachable
    monkeypatch.setenv("PGPORT", str(closed_port()))
    monkeypatch.setenv("PGUSER", "nobody")
    monkeypatch.setenv("PGPASSWORD", "wrong")
    monkeypatch.setenv("PGDATABASE", "no_such_database")
    with connect(s.dsn("pgproto_password")) as conn:
        assert _identity(conn) == ("pgproto_password", s.dbname, "127.0.0.1")


def test_environment_fills_what_the_dsn_leaves_out(
    pg_auth_server: Server, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = pg_auth_server
    monkeypatch.setenv("PGPASSWORD", "pgproto_scram")
    monkeypatch.setenv("PGDATABASE", s.dbname)
    with connect(f"postgresql://pgproto_scram@{s.host}:{s.port}") as conn:
        assert _identity(conn) == ("pgproto_scram", s.dbname, "127.0.0.1")


def test_environment_sslmode_require_is_honoured(
    pg_server: Server, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test clusters run without TLS: PGSSLMODE=require must refuse rather than fall back to plain text.
    monkeypatch.setenv("PGSSLMODE", "require")
    with pytest.raises(OSError, match="TLS"):
        connect(pg_server.dsn()).close()


def test_pgpass_in_home(pg_auth_server: Server, clean_env: Path) -> None:
    s = pg_auth_server
    write_passfile(
        clean_env / ".pgpass",
        [
            f"{s.host}:{s.port}:{s.dbname}:pgproto_md5:wrong-only-for-another-user",
            f"{s.host}:{s.port}:{s.dbname}:pgproto_scram:pgproto_scram",
        ],
    )
    with connect(host=s.host, port=s.port, user="pgproto_scram", database=s.dbname) as conn:
        assert _identity(conn) == ("pgproto_scram", s.dbname, "127.0.0.1")


def test_pgpass_wildcards_and_escapes(pg_auth_server: Server, clean_env: Path) -> None:
    s = pg_auth_server
    write_passfile(clean_env / ".pgpass", ["*:*:*:pgproto_md5:pgproto_md5", r"*:*:*:pgproto_password:not\:this"])
    with connect(f"postgresql://pgproto_md5@{s.host}:{s.port}/{s.dbname}") as conn:
        assert _identity(conn) == ("pgproto_md5", s.dbname, "127.0.0.1")


def test_pgpassfile_variable(
    pg_auth_server: Server, clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s = pg_auth_server
    passfile = tmp_path / "elsewhere.pgpass"
    write_passfile(passfile, [f"{s.host}:{s.port}:*:pgproto_password:pgproto_password"])
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    with connect(host=s.host, port=s.port, user="pgproto_password", database=s.dbname) as conn:
        assert _identity(conn) == ("pgproto_password", s.dbname, "127.0.0.1")


def test_pgpass_for_unix_socket_matches_localhost(pg_auth_server: Server, clean_env: Path) -> None:
    s = pg_auth_server
    write_passfile(clean_env / ".pgpass", [f"localhost:{s.port}:{s.dbname}:pgproto_scram:pgproto_scram"])
    with connect(host=socket_dir(s), port=s.port, user="pgproto_scram", database=s.dbname) as conn:
        assert _identity(conn) == ("pgproto_scram", s.dbname, None)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604], ids=["group-and-others", "group", "others"])
def test_pgpass_readable_by_others_is_ignored(pg_auth_server: Server, clean_env: Path, mode: int) -> None:
    """libpq ignores a password file that group or others can read (libpq docs, "The Password File")."""
    s = pg_auth_server
    write_passfile(clean_env / ".pgpass", ["*:*:*:pgproto_scram:pgproto_scram"], mode=mode)
    with pytest.raises(pgproto.AuthenticationError, match="password"):
        connect(host=s.host, port=s.port, user="pgproto_scram", database=s.dbname).close()


# -- transports and authentication -------------------------------------------------------------------------


def test_unix_socket_by_dsn(pg_server: Server, clean_env: Path) -> None:
    socket_dir(pg_server)
    with connect(pg_server.dsn(unix=True)) as conn:
        assert _identity(conn) == ("postgres", pg_server.dbname, None)


def test_unix_socket_by_host_argument(pg_server: Server, clean_env: Path) -> None:
    with connect(host=socket_dir(pg_server), port=pg_server.port, user="postgres", database=pg_server.dbname) as conn:
        assert _identity(conn) == ("postgres", pg_server.dbname, None)


def test_no_host_anywhere_means_the_local_unix_socket(
    pg_server: Server, clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Like libpq, with no host given the driver looks in the usual socket directories, not localhost:5432."""
    directory = tmp_path / "run"
    directory.mkdir()
    name = f".s.PGSQL.{pg_server.port}"
    (directory / name).symlink_to(Path(socket_dir(pg_server)) / name)
    monkeypatch.setattr(_environment, "_SOCKET_DIRS", ("/nonexistent/pgproto", str(directory)))
    with connect(port=pg_server.port, user="postgres", database=pg_server.dbname) as conn:
        assert _identity(conn) == ("postgres", pg_server.dbname, None)  # None: over a Unix socket
    monkeypatch.setattr(_environment, "_SOCKET_DIRS", ("/nonexistent/pgproto",))
    with connect(port=pg_server.port, user="postgres", database=pg_server.dbname) as conn:
        assert _identity(conn) == ("postgres", pg_server.dbname, "127.0.0.1")  # no socket found: localhost


def test_unix_socket_in_key_value_dsn(pg_server: Server, clean_env: Path) -> None:
    dsn = f"host={socket_dir(pg_server)} port={pg_server.port} user=postgres dbname={pg_server.dbname}"
    with connect(dsn) as conn:
        assert _identity(conn) == ("postgres", pg_server.dbname, None)


def test_unix_socket_from_pghost(pg_server: Server, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGHOST", socket_dir(pg_server))
    monkeypatch.setenv("PGPORT", str(pg_server.port))
    monkeypatch.setenv("PGUSER", "postgres")
    monkeypatch.setenv("PGDATABASE", pg_server.dbname)
    with connect() as conn:
        assert _identity(conn) == ("postgres", pg_server.dbname, None)


@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix"])
@pytest.mark.parametrize("user", ALL_USERS)
def test_each_auth_method(pg_auth_server: Server, clean_env: Path, user: str, unix: bool) -> None:
    if unix:
        socket_dir(pg_auth_server)
    with connect(pg_auth_server.dsn(user, unix=unix)) as conn:
        who, database, address = _identity(conn)
    assert (who, database) == (user, pg_auth_server.dbname)
    assert (address is None) == unix


@pytest.mark.parametrize("user", PASSWORD_USERS)
def test_wrong_password(pg_auth_server: Server, clean_env: Path, user: str) -> None:
    s = pg_auth_server
    with pytest.raises(pgproto.InvalidPasswordError) as info:
        connect(host=s.host, port=s.port, user=user, password="not-the-password", database=s.dbname).close()
    error = info.value
    assert isinstance(error, pgproto.PostgresError)
    assert error.sqlstate == "28P01"
    assert "password authentication failed" in str(error.message)
    assert "password authentication failed" in str(error)
    assert pgproto_sync.InvalidPasswordError is pgproto.InvalidPasswordError


@pytest.mark.parametrize("user", PASSWORD_USERS)
def test_missing_password(pg_auth_server: Server, clean_env: Path, user: str) -> None:
    s = pg_auth_server
    with pytest.raises(pgproto.AuthenticationError) as info:
        connect(host=s.host, port=s.port, user=user, database=s.dbname).close()
    message = str(info.value)
    assert "password" in message
    assert user in message


def test_unknown_database(pg_server: Server, clean_env: Path) -> None:
    with pytest.raises(pgproto.InvalidCatalogNameError) as info:
        connect(pg_server.dsn(dbname="pgproto_no_such_database")).close()
    assert info.value.sqlstate == "3D000"
    assert "pgproto_no_such_database" in str(info.value.message)


def test_unreachable_port_raises_oserror(clean_env: Path) -> None:
    port = closed_port()
    with pytest.raises(OSError) as info:
        connect(host="127.0.0.1", port=port, user="postgres", database="postgres", timeout=30).close()
    assert not isinstance(info.value, TimeoutError), "a refused connection is not a timeout"
    assert str(port) in str(info.value)


def test_hostaddr_is_where_to_connect(pg_server: Server, clean_env: Path) -> None:
    # libpq: hostaddr is the address to connect to; host only names the server (TLS checks the certificate
    # against it).
    address = socket.gethostbyname(pg_server.host)
    with connect(pg_server.dsn() + f"?host=not-the-server.invalid&hostaddr={address}") as conn:
        assert conn.fetchval("SELECT inet_server_port()") == pg_server.port


def test_second_host_is_tried(pg_server: Server, clean_env: Path) -> None:
    dead = closed_port()
    dsn = f"postgresql://postgres@127.0.0.1:{dead},{pg_server.host}:{pg_server.port}/{pg_server.dbname}"
    with connect(dsn) as conn:
        assert conn.fetchval("SELECT inet_server_port()") == pg_server.port


def test_tls_required_but_not_offered(pg_server: Server, clean_env: Path) -> None:
    with pytest.raises(OSError, match="TLS"):
        connect(pg_server.dsn() + "?sslmode=require").close()


@pytest.mark.parametrize("sslmode", ["prefer", "disable"])
def test_connect_timeout(silent_listener: int, clean_env: Path, sslmode: str) -> None:
    # The server never answers; only the timeout ends the attempt (the hang guard catches a missing one).
    with pytest.raises(TimeoutError):
        connect(f"postgresql://postgres@127.0.0.1:{silent_listener}/postgres?sslmode={sslmode}", timeout=0.5).close()


def test_connect_timeout_from_dsn(silent_listener: int, clean_env: Path) -> None:
    # libpq's connect_timeout is whole seconds, at least 2; it must not end the attempt sooner.
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        connect(f"host=127.0.0.1 port={silent_listener} user=postgres connect_timeout=2").close()
    assert time.monotonic() - started >= 1.5


# -- opening, closing, settings ---------------------------------------------------------------------------------


def test_connect_then_close(dsn: str) -> None:
    conn = connect(dsn)
    try:
        assert isinstance(conn, Connection)
        assert not conn.is_closed()
        pid = conn.get_server_pid()
        assert pid == conn.fetchval("SELECT pg_backend_pid()")
    finally:
        conn.close()
    assert conn.is_closed()
    wait_backend_gone(dsn, pid)


def test_with_connect(dsn: str) -> None:
    with connect(dsn) as conn:
        assert isinstance(conn, Connection)
        assert not conn.is_closed()
        pid = conn.fetchval("SELECT pg_backend_pid()")
        assert isinstance(pid, int)
    assert conn.is_closed()
    wait_backend_gone(dsn, pid)


def test_with_connect_closes_on_error(dsn: str) -> None:
    pid = -1
    with pytest.raises(ZeroDivisionError), connect(dsn) as conn:
        value = conn.fetchval("SELECT pg_backend_pid()")
        assert isinstance(value, int)
        pid = value
        1 / 0  # noqa: B018
    assert conn.is_closed()
    wait_backend_gone(dsn, pid)


def test_close_twice_and_terminate(dsn: str) -> None:
    conn = connect(dsn)
    conn.close()
    conn.close()
    conn.terminate()
    assert conn.is_closed()
    with pytest.raises(pgproto.ConnectionDoesNotExistError):
        conn.fetchval("SELECT 1")


def test_terminate_closes_the_session(dsn: str) -> None:
    conn = connect(dsn)
    pid = conn.get_server_pid()
    conn.terminate()
    assert conn.is_closed()
    conn.terminate()
    conn.close()
    wait_backend_gone(dsn, pid)


def test_server_settings(dsn: str) -> None:
    settings = {"application_name": "pgproto tests", "search_path": "pg_catalog", "work_mem": "1234kB"}
    with connect(dsn, server_settings=settings) as conn:
        assert conn.fetchval("SHOW application_name") == "pgproto tests"
        assert conn.fetchval("SHOW search_path") == "pg_catalog"
        assert conn.fetchval("SHOW work_mem") == "1234kB"
        assert conn.get_settings()["application_name"] == "pgproto tests"


def test_server_settings_win_over_dsn(dsn: str) -> None:
    with connect(dsn + "?application_name=dsn", server_settings={"application_name": "arg"}) as conn:
        assert conn.fetchval("SHOW application_name") == "arg"


def test_session_reports_utf8_and_server_version(dsn: str) -> None:
    with connect(dsn) as conn:
        settings = conn.get_settings()
        assert settings["client_encoding"] == "UTF8"
        assert settings["server_version"].split(".")[0] == str(conn.fetchval("SHOW server_version_num"))[:2]


def test_many_connections_from_threads(dsn: str) -> None:
    pids: list[object] = []
    lock = threading.Lock()

    def one() -> None:
        with connect(dsn) as conn:
            pid = conn.fetchval("SELECT pg_backend_pid()")
            with lock:
                pids.append(pid)

    threads = [threading.Thread(target=one, daemon=True) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
        assert not thread.is_alive()
    assert len(set(pids)) == 10
