"""A query logger that collects per-statement statistics, blocking version, with two threads sharing
one connection.

    python -m examples.sync_query_analyzer [DSN]

The same `QueryAnalyzer` as ``examples.query_analyzer``. A sync connection serialises the calls of
several threads, and its query loggers see every query, whichever thread ran it.
"""

from __future__ import annotations

import contextlib
import threading

import pgproto_sync

from ._runner import ExampleFailed, check
from .query_analyzer import TABLE, QueryAnalyzer
from .sync_runner import run


def main(dsn: str | None) -> None:
    analyzer = QueryAnalyzer()
    lookup = f"SELECT name, price FROM {TABLE} WHERE id = $1"
    with pgproto_sync.connect(dsn) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        try:
            with conn.query_logger(analyzer):
                conn.execute(f"CREATE TABLE {TABLE} (id int PRIMARY KEY, name text, price numeric)")
                conn.executemany(f"INSERT INTO {TABLE} VALUES ($1, $2, $3)",
                                 [(i, f"item {i}", i * 1.5) for i in range(1, 101)])  # fmt: skip

                def lookups(first: int) -> None:
                    for item in range(first, first + 10):
                        conn.fetchrow(lookup, item)

                threads = [threading.Thread(target=lookups, args=(first,)) for first in (1, 11)]
                for thread in threads:
                    thread.start()
                with conn.transaction():  # BEGIN and COMMIT are logged as well
                    conn.execute(f"UPDATE {TABLE} SET price = price * 1.1 WHERE id <= $1", 10)
                conn.fetchval("SELECT pg_sleep(0.05)")
                with contextlib.suppress(pgproto_sync.UndefinedColumnError):
                    conn.fetch(f"SELECT no_such_column FROM {TABLE}")  # a failed query is logged too
                for thread in threads:
                    thread.join(10)
                check(not any(thread.is_alive() for thread in threads), "a lookup thread did not finish")
            conn.fetchval("SELECT 'not logged: after the with block'")
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {TABLE}")

    print(analyzer.report())
    count = sum(s.count for s in analyzer.stats.values())
    print(f"{count} queries, {len(analyzer.stats)} distinct statements")
    check(analyzer.stats[lookup].count == 20, f"the lookup ran {analyzer.stats[lookup].count} times, not 20")
    check(analyzer.stats["BEGIN"].count == 1 and analyzer.stats["COMMIT"].count == 1, "BEGIN/COMMIT not logged")
    check(analyzer.stats["SELECT pg_sleep(0.05)"].max >= 0.05, "pg_sleep(0.05) took less than 50 ms")
    check(count == 27, f"{count} queries logged, expected 27")
    if any("not logged" in query for query in analyzer.stats):
        raise ExampleFailed("a query after the with block was logged")
    print("the statistics cover every query of both threads, and nothing after the block")


if __name__ == "__main__":
    run(main, __doc__)
