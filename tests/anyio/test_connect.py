"""connect(): DSN forms, keyword arguments, PG* variables, .pgpass, TCP and Unix sockets, every auth method,
the errors a refused or unreachable server gives, timeouts, and the two ways to open and close a connection.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import anyio
import pytest

import pgproto
import pgproto_anyio
from pgproto_anyio import Connection, connect
from tests.cluster import Server
from tests.connect_support import ALL_USERS, PASSWORD_USERS, closed_port, socket_dir, write_passfile

pytestmark = pytest.mark.anyio


async def _identity(conn: Connection) -> tuple[object, object, object]:
    """(current_user, current_database(), server address or None for a Unix socket)."""
    row = await conn.fetchrow("SELECT current_user, current_database(), host(inet_server_addr())")
    assert row is not None
    return row[0], row[1], row[2]


async def _backend_exists(dsn: str, pid: int) -> bool:
    async with connect(dsn) as other:
        return bool(await other.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid))


async def _wait_backend_gone(dsn: str, pid: int) -> None:
    """Poll pg_stat_activity until backend `pid` has exited (the caller's fail_after bounds it)."""
    while await _backend_exists(dsn, pid):
        await anyio.sleep(0.02)


# -- DSN forms and where the parameters come from ------------------------------------------------------------


async def test_uri_dsn(pg_auth_server: Server, clean_env: Path) -> None:
    with anyio.fail_after(10):
        conn = await connect(pg_auth_server.dsn("pgproto_scram"))
        try:
            assert await _identity(conn) == ("pgproto_scram", pg_auth_server.dbname, "127.0.0.1")
        finally:
            await conn.close()


async def test_key_value_dsn(pg_auth_server: Server, clean_env: Path) -> None:
    s = pg_auth_server
    dsn = (
        f"host={s.host} port={s.port} user=pgproto_scram password='pgproto_scram' "
        f"dbname = {s.dbname} application_name='key value app'"
    )
    with anyio.fail_after(10):
        async with connect(dsn) as conn:
            assert await _identity(conn) == ("pgproto_scram", s.dbname, "127.0.0.1")
            assert await conn.fetchval("SHOW application_name") == "key value app"


async def test_uri_query_parameters(pg_server: Server, clean_env: Path) -> None:
    with anyio.fail_after(10):
        async with connect(pg_server.dsn() + "?application_name=from%20uri&connect_timeout=5") as conn:
            assert await conn.fetchval("SHOW application_name") == "from uri"


async def test_keyword_arguments_override_the_dsn(pg_auth_server: Server, clean_env: Path) -> None:
    s = pg_auth_server
    # Every part of this DSN is wrong; each keyword argument must win over it.
    dsn = f"postgresql://nobody:wrong@192.0.2.1:{closed_port()}/no_such_database"
    with anyio.fail_after(10):
        async with connect(
            dsn, host=s.host, port=s.port, user="pgproto_md5", password="pgproto_md5", database=s.dbname
        ) as conn:
            assert await _identity(conn) == ("pgproto_md5", s.dbname, "127.0.0.1")


async def test_port_argument_as_str(pg_server: Server, clean_env: Path) -> None:
    with anyio.fail_after(10):
        async with connect(host=pg_server.host, port=str(pg_server.port), user="postgres",
                           database=pg_server.dbname) as conn:  # fmt: skip
            assert await conn.fetchval("SELECT 1") == 1


async def test_environment_variables_alone(
    pg_auth_server: Server, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = pg_auth_server
    monkeypatch.setenv("PGHOST", s.host)
    monkeypatch.setenv("PGPORT", str(s.port))
    monkeypatch.setenv("PGUSER", "pgproto_scram")
    monkeypatch.setenv("PGPASSWORD", "pgproto_scram")
    monkeypatch.setenv("PGDATABASE", s.dbname)
    with anyio.fail_after(10):
        async with connect() as conn:
            assert await _identity(conn) == ("pgproto_scram", s.dbname, "127.0.0.1")


async def test_dsn_wins_over_environment(
    pg_auth_server: Server, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = pg_auth_server
    monkeypatch.setenv("PGHOST", "192.0.2.1")  # TEST-NET-1: never reachable
    monkeypatch.setenv("PGPORT", str(closed_port()))
    monkeypatch.setenv("PGUSER", "nobody")
    monkeypatch.setenv("PGPASSWORD", "wrong")
    monkeypatch.setenv("PGDATABASE", "no_such_database")
    with anyio.fail_after(10):
        async with connect(s.dsn("pgproto_password")) as conn:
            assert await _identity(conn) == ("pgproto_password", s.dbname, "127.0.0.1")


async def test_environment_fills_what_the_dsn_leaves_out(
    pg_auth_server: Server, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = pg_auth_server
    monkeypatch.setenv("PGPASSWORD", "pgproto_scram")
    monkeypatch.setenv("PGDATABASE", s.dbname)
    with anyio.fail_after(10):
        async with connect(f"postgresql://pgproto_scram@{s.host}:{s.port}") as conn:
            assert await _identity(conn) == ("pgproto_scram", s.dbname, "127.0.0.1")


async def test_pgpass_in_home(pg_auth_server: Server, clean_env: Path) -> None:
    s = pg_auth_server
    write_passfile(
        clean_env / ".pgpass",
        [
            f"{s.host}:{s.port}:{s.dbname}:pgproto_md5:wrong-only-for-another-user",
            f"{s.host}:{s.port}:{s.dbname}:pgproto_scram:pgproto_scram",
        ],
    )
    with anyio.fail_after(10):
        async with connect(host=s.host, port=s.port, user="pgproto_scram", database=s.dbname) as conn:
            assert await _identity(conn) == ("pgproto_scram", s.dbname, "127.0.0.1")


async def test_pgpass_wildcards_and_escapes(pg_auth_server: Server, clean_env: Path) -> None:
    s = pg_auth_server
    write_passfile(clean_env / ".pgpass", ["*:*:*:pgproto_md5:pgproto_md5", r"*:*:*:pgproto_password:not\:this"])
    with anyio.fail_after(10):
        async with connect(f"postgresql://pgproto_md5@{s.host}:{s.port}/{s.dbname}") as conn:
            assert await _identity(conn) == ("pgproto_md5", s.dbname, "127.0.0.1")


async def test_pgpassfile_variable(
    pg_auth_server: Server, clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s = pg_auth_server
    passfile = tmp_path / "elsewhere.pgpass"
    write_passfile(passfile, [f"{s.host}:{s.port}:*:pgproto_password:pgproto_password"])
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    with anyio.fail_after(10):
        async with connect(host=s.host, port=s.port, user="pgproto_password", database=s.dbname) as conn:
            assert await _identity(conn) == ("pgproto_password", s.dbname, "127.0.0.1")


async def test_pgpass_for_unix_socket_matches_localhost(pg_auth_server: Server, clean_env: Path) -> None:
    s = pg_auth_server
    write_passfile(clean_env / ".pgpass", [f"localhost:{s.port}:{s.dbname}:pgproto_scram:pgproto_scram"])
    with anyio.fail_after(10):
        async with connect(host=socket_dir(s), port=s.port, user="pgproto_scram", database=s.dbname) as conn:
            assert await _identity(conn) == ("pgproto_scram", s.dbname, None)


async def test_pgpass_readable_by_others_is_ignored(pg_auth_server: Server, clean_env: Path) -> None:
    """libpq ignores a password file that group or others can read (libpq docs, "The Password File")."""
    s = pg_auth_server
    write_passfile(clean_env / ".pgpass", ["*:*:*:pgproto_scram:pgproto_scram"], mode=0o644)
    with anyio.fail_after(10), pytest.raises(pgproto.AuthenticationError, match="password"):
        conn = await connect(host=s.host, port=s.port, user="pgproto_scram", database=s.dbname)
        await conn.close()


# -- transports and authentication -------------------------------------------------------------------------


async def test_unix_socket_by_dsn(pg_server: Server, clean_env: Path) -> None:
    socket_dir(pg_server)
    with anyio.fail_after(10):
        async with connect(pg_server.dsn(unix=True)) as conn:
            assert await _identity(conn) == ("postgres", pg_server.dbname, None)


async def test_unix_socket_by_host_argument(pg_server: Server, clean_env: Path) -> None:
    with anyio.fail_after(10):
        async with connect(host=socket_dir(pg_server), port=pg_server.port, user="postgres",
                           database=pg_server.dbname) as conn:  # fmt: skip
            assert await _identity(conn) == ("postgres", pg_server.dbname, None)


async def test_unix_socket_in_key_value_dsn(pg_server: Server, clean_env: Path) -> None:
    dsn = f"host={socket_dir(pg_server)} port={pg_server.port} user=postgres dbname={pg_server.dbname}"
    with anyio.fail_after(10):
        async with connect(dsn) as conn:
            assert await _identity(conn) == ("postgres", pg_server.dbname, None)


@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix"])
@pytest.mark.parametrize("user", ALL_USERS)
async def test_each_auth_method(pg_auth_server: Server, clean_env: Path, user: str, unix: bool) -> None:
    if unix:
        socket_dir(pg_auth_server)
    with anyio.fail_after(10):
        async with connect(pg_auth_server.dsn(user, unix=unix)) as conn:
            who, database, address = await _identity(conn)
    assert (who, database) == (user, pg_auth_server.dbname)
    assert (address is None) == unix


@pytest.mark.parametrize("user", PASSWORD_USERS)
async def test_wrong_password(pg_auth_server: Server, clean_env: Path, user: str) -> None:
    s = pg_auth_server
    with anyio.fail_after(10), pytest.raises(pgproto.InvalidPasswordError) as info:
        conn = await connect(host=s.host, port=s.port, user=user, password="not-the-password", database=s.dbname)
        await conn.close()
    error = info.value
    assert isinstance(error, pgproto.PostgresError)
    assert error.sqlstate == "28P01"
    assert "password authentication failed" in str(error.message)
    assert "password authentication failed" in str(error)
    assert pgproto_anyio.InvalidPasswordError is pgproto.InvalidPasswordError


@pytest.mark.parametrize("user", PASSWORD_USERS)
async def test_missing_password(pg_auth_server: Server, clean_env: Path, user: str) -> None:
    s = pg_auth_server
    with anyio.fail_after(10), pytest.raises(pgproto.AuthenticationError) as info:
        conn = await connect(host=s.host, port=s.port, user=user, database=s.dbname)
        await conn.close()
    message = str(info.value)
    assert "password" in message
    assert user in message


async def test_unknown_database(pg_server: Server, clean_env: Path) -> None:
    with anyio.fail_after(10), pytest.raises(pgproto.InvalidCatalogNameError) as info:
        conn = await connect(pg_server.dsn(dbname="pgproto_no_such_database"))
        await conn.close()
    assert info.value.sqlstate == "3D000"
    assert "pgproto_no_such_database" in str(info.value.message)


async def test_unreachable_port_raises_oserror_quickly(clean_env: Path) -> None:
    port = closed_port()
    started = time.monotonic()
    with anyio.fail_after(5), pytest.raises(OSError) as info:
        conn = await connect(host="127.0.0.1", port=port, user="postgres", database="postgres", timeout=4)
        await conn.close()
    assert not isinstance(info.value, TimeoutError)
    assert time.monotonic() - started < 2
    assert str(port) in str(info.value)


async def test_hostaddr_is_where_to_connect(pg_server: Server, clean_env: Path) -> None:
    # libpq: hostaddr is the address to connect to; host only names the server (TLS checks the certificate
    # against it). The driver once resolved host instead, and failed here.
    address = socket.gethostbyname(pg_server.host)
    with anyio.fail_after(10):
        async with connect(pg_server.dsn() + f"?host=not-the-server.invalid&hostaddr={address}") as conn:
            assert await conn.fetchval("SELECT inet_server_port()") == pg_server.port


async def test_second_host_is_tried(pg_server: Server, clean_env: Path) -> None:
    dead = closed_port()
    dsn = f"postgresql://postgres@127.0.0.1:{dead},{pg_server.host}:{pg_server.port}/{pg_server.dbname}"
    with anyio.fail_after(10):
        async with connect(dsn) as conn:
            assert await conn.fetchval("SELECT inet_server_port()") == pg_server.port


async def test_tls_required_but_not_offered(pg_server: Server, clean_env: Path) -> None:
    # The test clusters run without TLS: sslmode=require must refuse rather than fall back to plain text.
    with anyio.fail_after(10), pytest.raises(OSError, match="TLS"):
        conn = await connect(pg_server.dsn() + "?sslmode=require")
        await conn.close()


@pytest.mark.parametrize("sslmode", ["prefer", "disable"])
async def test_connect_timeout(silent_listener: int, clean_env: Path, sslmode: str) -> None:
    started = time.monotonic()
    with anyio.fail_after(5), pytest.raises(TimeoutError):
        conn = await connect(
            f"postgresql://postgres@127.0.0.1:{silent_listener}/postgres?sslmode={sslmode}", timeout=0.5
        )
        await conn.close()
    assert time.monotonic() - started < 2


async def test_connect_timeout_from_dsn(silent_listener: int, clean_env: Path) -> None:
    # libpq's connect_timeout is whole seconds, at least 2.
    started = time.monotonic()
    with anyio.fail_after(6), pytest.raises(TimeoutError):
        conn = await connect(f"host=127.0.0.1 port={silent_listener} user=postgres connect_timeout=2")
        await conn.close()
    assert 1.5 < time.monotonic() - started < 4


# -- opening, closing, settings ---------------------------------------------------------------------------------


async def test_await_connect(pg_server: Server, dsn: str) -> None:
    with anyio.fail_after(10):
        conn = await connect(dsn)
        try:
            assert isinstance(conn, Connection)
            assert not conn.is_closed()
            pid = conn.get_server_pid()
            assert pid == await conn.fetchval("SELECT pg_backend_pid()")
        finally:
            await conn.close()
        assert conn.is_closed()
        await _wait_backend_gone(dsn, pid)


async def test_async_with_connect(pg_server: Server, dsn: str) -> None:
    with anyio.fail_after(10):
        async with connect(dsn) as conn:
            assert isinstance(conn, Connection)
            assert not conn.is_closed()
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            assert isinstance(pid, int)
        assert conn.is_closed()
        await _wait_backend_gone(dsn, pid)


async def test_async_with_connect_closes_on_error(dsn: str) -> None:
    with anyio.fail_after(10):
        pid = -1
        with pytest.raises(ZeroDivisionError):
            async with connect(dsn) as conn:
                value = await conn.fetchval("SELECT pg_backend_pid()")
                assert isinstance(value, int)
                pid = value
                1 / 0  # noqa: B018
        assert conn.is_closed()
        await _wait_backend_gone(dsn, pid)


async def test_close_twice_and_terminate(dsn: str) -> None:
    with anyio.fail_after(10):
        conn = await connect(dsn)
        await conn.close()
        await conn.close()
        conn.terminate()
        assert conn.is_closed()
        with pytest.raises(pgproto.ConnectionDoesNotExistError):
            await conn.fetchval("SELECT 1")


async def test_terminate_closes_the_session(dsn: str) -> None:
    with anyio.fail_after(10):
        conn = await connect(dsn)
        pid = conn.get_server_pid()
        conn.terminate()
        assert conn.is_closed()
        conn.terminate()
        await conn.close()
        await _wait_backend_gone(dsn, pid)


async def test_server_settings(dsn: str) -> None:
    settings = {"application_name": "pgproto tests", "search_path": "pg_catalog", "work_mem": "1234kB"}
    with anyio.fail_after(10):
        async with connect(dsn, server_settings=settings) as conn:
            assert await conn.fetchval("SHOW application_name") == "pgproto tests"
            assert await conn.fetchval("SHOW search_path") == "pg_catalog"
            assert await conn.fetchval("SHOW work_mem") == "1234kB"
            assert conn.get_settings()["application_name"] == "pgproto tests"


async def test_server_settings_win_over_dsn(dsn: str) -> None:
    with anyio.fail_after(10):
        async with connect(dsn + "?application_name=dsn", server_settings={"application_name": "arg"}) as conn:
            assert await conn.fetchval("SHOW application_name") == "arg"


async def test_session_reports_utf8_and_server_version(dsn: str) -> None:
    with anyio.fail_after(10):
        async with connect(dsn) as conn:
            settings = conn.get_settings()
            assert settings["client_encoding"] == "UTF8"
            assert settings["server_version"].split(".")[0] == str(await conn.fetchval("SHOW server_version_num"))[:2]


async def test_many_connections_at_once(dsn: str) -> None:
    pids: list[object] = []

    async def one() -> None:
        async with connect(dsn) as conn:
            pids.append(await conn.fetchval("SELECT pg_backend_pid()"))

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(one)
    assert len(set(pids)) == 10
