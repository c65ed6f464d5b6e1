"""What the pgproto_anyio examples share: the command line, a time limit, and the exit status.

Every example is run as ``python -m examples.NAME [DSN] [--trio]``: the DSN is a libpq URI or
``key=value`` string (without one, libpq's PG* environment variables apply), and ``--trio`` runs it on
trio instead of asyncio. An example exits 0 when everything it demonstrates worked, and 1 with a
``FAILED: ...`` line on stderr otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import NoReturn

import anyio

#: No example may run longer than this, whatever goes wrong.
TIME_LIMIT = 30.0


class ExampleFailed(Exception):
    """Something the example demonstrates did not happen."""


def check(condition: bool, message: str) -> None:
    """Fail the example with `message` unless `condition` holds."""
    if not condition:
        raise ExampleFailed(message)


@contextlib.contextmanager
def deadline(seconds: float, waiting_for: str) -> Iterator[None]:
    """Fail the example, naming what it waited for, if the block takes longer than `seconds`."""
    try:
        with anyio.fail_after(seconds):
            yield
    except TimeoutError:
        raise ExampleFailed(f"timed out after {seconds:g} s waiting for {waiting_for}") from None


def _failure(exc: BaseException) -> ExampleFailed | None:
    """`exc` itself, or the one ExampleFailed inside (nested) exception groups, if that is all it holds."""
    while not isinstance(exc, ExampleFailed):
        inner: object = getattr(exc, "exceptions", None)  # an ExceptionGroup from a task group
        if not isinstance(inner, tuple) or len(inner) != 1 or not isinstance(inner[0], BaseException):
            return None
        exc = inner[0]
    return exc


def run(main: Callable[[str | None], Awaitable[None]], description: str | None = None) -> NoReturn:
    """Parse ``[DSN] [--trio]``, run ``main(dsn)`` on the chosen backend, and exit 0 or 1."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("dsn", nargs="?", default=None, help="libpq URI or key=value string (default: PG* env)")
    parser.add_argument("--trio", action="store_true", help="run on trio instead of asyncio")
    options = parser.parse_args()
    backend = "trio" if options.trio else "asyncio"

    async def limited() -> None:
        with deadline(TIME_LIMIT, "the example to finish"):
            await main(options.dsn)

    print(f"running on {backend}")
    try:
        anyio.run(limited, backend=backend)
    except Exception as exc:
        failure = _failure(exc)
        if failure is None:
            traceback.print_exc()
            failure = ExampleFailed(f"{type(exc).__name__}: {exc}")
        print(f"FAILED: {failure}", file=sys.stderr, flush=True)
        sys.exit(1)
    sys.exit(0)
