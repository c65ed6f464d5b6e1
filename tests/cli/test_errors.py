"""Bad input: one line saying what was wrong and how to fix it, exit status 1, no traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.cli.helpers import assert_one_line_error, run
from tests.cluster import Server, make_uri


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("command", [["listen", "chan"], ["notify", "chan", "x"], ["demo"]])
def test_unreachable_server(command: list[str], tmp_path: Path) -> None:
    dsn = f"postgresql://postgres@127.0.0.1:{_closed_port()}/postgres"
    done = run([*command, "--dsn", dsn], tmp_path)
    assert_one_line_error(done, "could not connect", "refused", "is PostgreSQL running there?", "--dsn")


def test_wrong_password(pg_auth_server: Server, tmp_path: Path) -> None:
    dsn = make_uri(
        host=pg_auth_server.host, port=pg_auth_server.port, user="pgproto_scram", password="wrong", dbname="pgproto"
    )
    done = run(["listen", "chan", "--dsn", dsn], tmp_path)
    assert_one_line_error(done, "password authentication failed", "28P01", "check the password in --dsn")


def test_missing_password(pg_auth_server: Server, tmp_path: Path) -> None:
    dsn = make_uri(host=pg_auth_server.host, port=pg_auth_server.port, user="pgproto_md5", password="", dbname="x")
    done = run(["notify", "chan", "x", "--dsn", dsn], tmp_path)
    assert_one_line_error(done, "password", "PGPASSWORD or ~/.pgpass")


@pytest.mark.parametrize(
    "dsn",
    ["postgresql://localhost:notaport/db", "host=localhost port", "mysql://localhost/db", "sslmode=sometimes"],
)
@pytest.mark.parametrize("command", [["listen", "chan"], ["notify", "chan", "x"], ["demo"]])
def test_invalid_dsn(dsn: str, command: list[str], tmp_path: Path) -> None:
    done = run([*command, "--dsn", dsn], tmp_path)
    assert_one_line_error(done, "invalid", "fix --dsn")


def test_payload_over_the_limit(pg_server: Server, tmp_path: Path) -> None:
    done = run(["notify", "chan", "x" * 8000, "--dsn", pg_server.dsn()], tmp_path)
    assert_one_line_error(done, "8000 bytes", "limit of 7999 bytes", "send a key")


def test_payload_over_the_limit_on_stdin_names_the_line(pg_server: Server, tmp_path: Path) -> None:
    done = run(["notify", "chan", "--dsn", pg_server.dsn()], tmp_path, stdin="ok\n" + "é" * 4000 + "\n")
    assert_one_line_error(done, "line 2 of stdin", "8000 bytes")


@pytest.mark.parametrize("command", ["listen", "notify"])
@pytest.mark.parametrize(("channel", "expected"), [("", "cannot be empty"), ("c" * 64, "at most 63")])
def test_bad_channel_name(pg_server: Server, command: str, channel: str, expected: str, tmp_path: Path) -> None:
    done = run([command, channel, "--dsn", pg_server.dsn()], tmp_path)
    assert_one_line_error(done, expected)


def test_usage_error_is_argparse_s(tmp_path: Path) -> None:
    done = run(["listen"], tmp_path)
    assert done.returncode == 2
    assert "CHANNEL" in done.stderr and "Traceback" not in done.stderr
