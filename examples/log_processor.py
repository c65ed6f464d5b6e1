"""A log listener that counts the server's notices by severity: RAISE INFO / NOTICE / WARNING, and more.

    python -m examples.log_processor [DSN] [--trio]

Every NoticeResponse reaches the connection's log listeners: ``RAISE`` in PL/pgSQL and the server's
own notices (``DROP TABLE IF EXISTS`` on a missing table). A listener is a plain function called with
a `pgproto.Notice` (severity, message, detail, hint, sqlstate, ...), and a query's notices have all
been delivered when the query returns. An error is not a notice: it raises an exception. Which
severities reach the client at all is up to the ``client_min_messages`` setting (default: notice).
"""

from __future__ import annotations

from collections import Counter

import pgproto_anyio

from ._runner import ExampleFailed, check, run

IMPORT_JOB = """
DO $$
BEGIN
    RAISE INFO 'import started';
    FOR row_number IN 1..3 LOOP
        RAISE NOTICE 'row % imported', row_number;
    END LOOP;
    RAISE WARNING 'row 4 skipped' USING DETAIL = 'the price is negative', HINT = 'fix the source file';
    RAISE WARNING 'row 5 skipped' USING DETAIL = 'duplicate key';
    RAISE DEBUG 'import finished';  -- below client_min_messages: never sent
END
$$
"""

VERBOSE_JOB = """
DO $$
BEGIN
    RAISE DEBUG 'cache warmed';
    RAISE LOG 'checkpoint of the import written';
END
$$
"""

FAILING_JOB = """
DO $$
BEGIN
    RAISE WARNING 'disk almost full';
    RAISE EXCEPTION 'disk full' USING ERRCODE = 'disk_full';
END
$$
"""


class LogProcessor:
    """A log listener: prints each notice and counts them by severity."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __call__(self, notice: pgproto_anyio.Notice) -> None:
        # severity is translated to the server's language; severity_nonlocalized never is (PostgreSQL 9.6+)
        severity = notice.severity_nonlocalized or notice.severity or "UNKNOWN"
        self.counts[severity] += 1
        line = f"[{severity}] {notice.message} (sqlstate {notice.sqlstate})"
        if notice.detail:
            line += f"; detail: {notice.detail}"
        if notice.hint:
            line += f"; hint: {notice.hint}"
        print(line)

    def summary(self) -> str:
        rows = [f"  {severity:<8} {count:>3}" for severity, count in sorted(self.counts.items())]
        return "\n".join(["summary:", *rows, f"  {'total':<8} {self.counts.total():>3}"])


async def main(dsn: str | None) -> None:
    processor = LogProcessor()
    async with pgproto_anyio.connect(dsn) as conn:
        conn.add_log_listener(processor)

        await conn.execute(IMPORT_JOB)
        # No waiting needed: the notices of a query are processed before the query returns.
        expected = {"INFO": 1, "NOTICE": 3, "WARNING": 2}
        check(processor.counts == expected, f"after the import job: {dict(processor.counts)}, expected {expected}")

        await conn.execute("DROP TABLE IF EXISTS log_processor_no_such_table")  # a notice from the server
        async with conn.transaction():  # SET LOCAL: back to the default at the end of the transaction
            await conn.execute("SET LOCAL client_min_messages = debug1")
            await conn.execute(VERBOSE_JOB)  # now DEBUG and LOG reach the client as well
        try:
            await conn.execute(FAILING_JOB)
        except pgproto_anyio.DiskFullError as exc:
            print(f"error, not a notice: {type(exc).__name__}: {exc.message} (sqlstate {exc.sqlstate})")
        else:
            raise ExampleFailed("the failing job did not fail")

        conn.remove_log_listener(processor)
        await conn.execute("DO $$ BEGIN RAISE NOTICE 'nobody counts this one'; END $$")

    print(processor.summary())
    expected = {"DEBUG": 1, "INFO": 1, "LOG": 1, "NOTICE": 4, "WARNING": 3}
    check(processor.counts == expected, f"counted {dict(processor.counts)}, expected {expected}")
    print("every notice was counted once, none after remove_log_listener")


if __name__ == "__main__":
    run(main, __doc__)
