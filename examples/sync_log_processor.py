"""A log listener that counts the server's notices by severity, blocking version.

    python -m examples.sync_log_processor [DSN]

The same jobs and the same `LogProcessor` as ``examples.log_processor``: a log listener is a plain
function in both drivers, and a query's notices have all been delivered when the query returns, so
the counts can be checked right after each call, with no poll() in between.
"""

from __future__ import annotations

import pgproto_sync

from ._runner import ExampleFailed, check
from .log_processor import FAILING_JOB, IMPORT_JOB, VERBOSE_JOB, LogProcessor
from .sync_runner import run


def main(dsn: str | None) -> None:
    processor = LogProcessor()
    with pgproto_sync.connect(dsn) as conn:
        conn.add_log_listener(processor)
        conn.execute(IMPORT_JOB)
        expected = {"INFO": 1, "NOTICE": 3, "WARNING": 2}
        check(processor.counts == expected, f"after the import job: {dict(processor.counts)}, expected {expected}")

        conn.execute("DROP TABLE IF EXISTS log_processor_no_such_table")  # a notice from the server
        with conn.transaction():  # SET LOCAL: back to the default at the end of the transaction
            conn.execute("SET LOCAL client_min_messages = debug1")
            conn.execute(VERBOSE_JOB)
        try:
            conn.execute(FAILING_JOB)
        except pgproto_sync.DiskFullError as exc:
            print(f"error, not a notice: {type(exc).__name__}: {exc.message} (sqlstate {exc.sqlstate})")
        else:
            raise ExampleFailed("the failing job did not fail")
        check(processor.counts["WARNING"] == 3, "the warning before the error was not delivered before it")

        conn.remove_log_listener(processor)
        conn.execute("DO $$ BEGIN RAISE NOTICE 'nobody counts this one'; END $$")

    print(processor.summary())
    expected = {"DEBUG": 1, "INFO": 1, "LOG": 1, "NOTICE": 4, "WARNING": 3}
    check(processor.counts == expected, f"counted {dict(processor.counts)}, expected {expected}")
    print("every notice was counted once, none after remove_log_listener")


if __name__ == "__main__":
    run(main, __doc__)
