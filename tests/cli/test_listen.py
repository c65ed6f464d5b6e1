"""`pgproto listen` against the test server: JSON lines in order, quoting, notices, reconnection, signals."""

from __future__ import annotations

import datetime
import signal
import urllib.parse
import uuid
from pathlib import Path

import pytest

import pgproto_sync
from tests.cli.helpers import Background, run
from tests.cluster import Cluster, Server

#: Needs quoting as an identifier: spaces, capitals, a quote, a semicolon.
ODD_CHANNEL = 'Order "Events"; DROP TABLE x'


def _with_params(dsn: str, **params: str) -> str:
    separator = "&" if "?" in dsn else "?"
    return dsn + separator + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def test_listen_prints_what_notify_sends_in_order(pg_server: Server, tmp_path: Path) -> None:
    dsn = pg_server.dsn()
    with Background(["listen", "plain", ODD_CHANNEL, "--dsn", dsn], tmp_path) as listener:
        listener.wait_stderr("listening on")
        assert run(["notify", "plain", "first", "--dsn", dsn], tmp_path).returncode == 0
        lines = [f"line {n} é ☃" for n in range(20)] + ["", '{"json": [1, 2]}']
        done = run(["notify", ODD_CHANNEL, "--dsn", dsn], tmp_path, stdin="\n".join(lines) + "\n")
        assert done.returncode == 0, done.stderr
        assert run(["notify", "plain", "x" * 7999, "--dsn", dsn], tmp_path).returncode == 0  # the largest

        expected = [("plain", "first"), *((ODD_CHANNEL, line) for line in lines), ("plain", "x" * 7999)]
        records = [listener.next_json() for _ in expected]
        assert [(r["channel"], r["payload"]) for r in records] == expected
        for record in records:
            assert record["type"] == "notification"
            assert isinstance(record["pid"], int) and record["pid"] > 0
            assert isinstance(record["received_at"], str)
            assert datetime.datetime.fromisoformat(record["received_at"]).tzinfo is not None
        assert listener.stop(signal.SIGTERM) == 0


def test_ctrl_c_exits_0(pg_server: Server, tmp_path: Path) -> None:
    with Background(["listen", "chan", "--dsn", pg_server.dsn()], tmp_path) as listener:
        listener.wait_stderr("listening on")
        assert listener.stop(signal.SIGINT) == 0


def test_notices_are_printed_with_the_option(pg_server: Server, tmp_path: Path) -> None:
    # At debug5 the server reports each transaction's start and end, so the LISTEN itself raises notices.
    dsn = _with_params(pg_server.dsn(), options="-c client_min_messages=debug5")
    with Background(["listen", "chan", "--notices", "--dsn", dsn], tmp_path) as listener:
        listener.wait_stderr("listening on")
        record = listener.next_json()
        assert record["type"] == "notice"
        assert record["severity"] == "DEBUG"
        assert "Transaction" in str(record["message"])
        assert isinstance(record["received_at"], str)
        assert listener.stop() == 0


def test_listen_survives_pg_terminate_backend(pg_server: Server, tmp_path: Path) -> None:
    dsn = pg_server.dsn()
    name = f"cli-test-{uuid.uuid4().hex[:8]}"
    with Background(["listen", "chan", "--dsn", _with_params(dsn, application_name=name)], tmp_path) as listener:
        listener.wait_stderr("listening on")
        assert run(["notify", "chan", "before", "--dsn", dsn], tmp_path).returncode == 0
        assert listener.next_json()["payload"] == "before"

        with pgproto_sync.connect(dsn) as admin:
            killed = admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", name
            )
        assert killed == 1

        record = listener.next_json()
        assert record["type"] == "reconnected"
        assert "may have been missed" in str(record["message"])
        assert "terminating connection" in listener.wait_stderr("connection lost")

        for payload in ("after 1", "after 2"):
            assert run(["notify", "chan", payload, "--dsn", dsn], tmp_path).returncode == 0
        assert [listener.next_json()["payload"] for _ in range(2)] == ["after 1", "after 2"]
        assert listener.stop() == 0


def test_listen_retries_with_growing_delays_while_the_server_is_down(pg_server: Server, tmp_path: Path) -> None:
    if not isinstance(pg_server, Cluster):
        pytest.skip("PGPROTO_TEST_DSN is set, so there is no installation of ours to start a server with")
    cluster = Cluster(pg_server.installation, auth_users=False).start()
    with Background(["listen", "chan", "--dsn", cluster.dsn()], tmp_path) as listener:
        try:
            listener.wait_stderr("listening on")
        finally:
            cluster.stop()
        assert "reconnecting" in listener.wait_stderr("connection lost")
        delays = [listener.wait_stderr("retrying in").rsplit("retrying in ", 1)[1] for _ in range(3)]
        assert delays == ["0.5 s", "1 s", "2 s"]
        assert listener.stop(signal.SIGTERM) == 0  # also while waiting to retry
