"""What the pgproto_sync examples share: the command line, a time limit, waiting with poll(), the exit status.

Every sync example runs as ``python -m examples.sync_NAME [DSN]``: the DSN is a libpq URI or ``key=value``
string (without one, libpq's PG* environment variables apply). An example exits 0 when everything it
demonstrates worked, and 1 with a ``FAILED: ...`` line on stderr otherwise.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback
from collections.abc import Callable
from types import FrameType
from typing import NoReturn

import pgproto_sync

from ._runner import ExampleFailed

#: No example may run longer than this, whatever goes wrong.
TIME_LIMIT = 30.0


def poll_until(conn: pgproto_sync.Connection, done: Callable[[], object], seconds: float, waiting_for: str) -> None:
    """Run `conn`'s callbacks with poll() until `done()` holds; fail the example after `seconds`."""
    deadline = time.monotonic() + seconds
    while not done():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ExampleFailed(f"timed out after {seconds:g} s waiting for {waiting_for}")
        conn.poll(remaining)


def run(main: Callable[[str | None], None], description: str | None = None) -> NoReturn:
    """Parse ``[DSN]``, run ``main(dsn)`` within TIME_LIMIT, and exit 0 or 1."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("dsn", nargs="?", default=None, help="libpq URI or key=value string (default: PG* env)")
    options = parser.parse_args()

    def out_of_time(signum: int, frame: FrameType | None) -> None:
        raise ExampleFailed(f"timed out after {TIME_LIMIT:g} s waiting for the example to finish")

    if hasattr(signal, "SIGALRM"):  # a blocking call can only be interrupted by a signal
        signal.signal(signal.SIGALRM, out_of_time)
        signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
    try:
        main(options.dsn)
    except ExampleFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    except Exception as exc:
        traceback.print_exc()
        print(f"FAILED: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    sys.exit(0)
