"""Run the `pgproto` command line in a subprocess, with a clean environment and a timeout on every wait."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

ROOT = Path(__file__).resolve().parents[2]

#: Upper bound of any single wait; generous, since the machine is shared. Not a timing assertion.
TIMEOUT = 60.0


def environment(home: Path) -> dict[str, str]:
    """The caller's environment without PG* variables, and `home` as HOME (so no ~/.pgpass of ours counts)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["HOME"] = str(home)
    return env


def run(args: Sequence[str], home: Path, *, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pgproto ARGS`` to the end."""
    return subprocess.run(
        [sys.executable, "-m", "pgproto", *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=environment(home),
        cwd=ROOT,
        timeout=TIMEOUT,
        check=False,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    """The command failed with exactly one ``pgproto: error: ...`` line holding `expected`; return it."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("pgproto: error: "), lines[0]
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)  # end of stream


class Background:
    """``python -m pgproto ARGS`` running in the background; its output read line by line by two threads."""

    def __init__(self, args: Sequence[str], home: Path) -> None:
        """Start the process."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pgproto", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(home),
            cwd=ROOT,
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self.stdout: queue.Queue[str | None] = queue.Queue()
        self.stderr: queue.Queue[str | None] = queue.Queue()
        self.stderr_seen: list[str] = []
        for stream, lines in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr)):
            threading.Thread(target=_pump, args=(stream, lines), daemon=True).start()

    def next_json(self) -> dict[str, object]:
        """The next stdout line, which must be a JSON object."""
        line = self.stdout.get(timeout=TIMEOUT)
        assert line is not None, f"stdout ended; stderr: {self.stderr_seen}"
        record = json.loads(line)
        assert isinstance(record, dict), line
        return record

    def wait_stderr(self, text: str) -> str:
        """Read stderr until a line containing `text`; return that line."""
        while True:
            line = self.stderr.get(timeout=TIMEOUT)
            assert line is not None, f"stderr ended before {text!r}: {self.stderr_seen}"
            self.stderr_seen.append(line)
            if text in line:
                return line

    def stop(self, signum: signal.Signals = signal.SIGTERM) -> int:
        """Send `signum` and return the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout=TIMEOUT)

    def __enter__(self) -> Background:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
