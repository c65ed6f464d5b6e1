"""The blocking driver's examples (examples/sync_*.py) run against the test server and exit 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(
    path.stem for path in (ROOT / "examples").glob("sync_*.py") if path.stem != "sync_runner"
)


def test_every_example_is_listed() -> None:
    assert len(EXAMPLES) >= 5, EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_example(dsn: str, name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", f"examples.{name}", dsn],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,  # the examples limit themselves to 30 s
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILED" not in result.stderr
