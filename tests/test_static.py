"""The static checks are part of the suite: mypy --strict and ruff over the packages, tests and fuzz/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ["pgproto", "pgproto_anyio", "pgproto_sync", "tests", "fuzz", "examples"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_mypy_strict() -> None:
    result = _run("mypy", "--strict", *TARGETS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff() -> None:
    result = _run("ruff", "check", *TARGETS, "tools", "examples")
    assert result.returncode == 0, result.stdout + result.stderr
