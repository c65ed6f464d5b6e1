"""A query logger that collects per-statement statistics over a workload and prints them as a table.

    python -m examples.query_analyzer [DSN] [--trio]

A query logger is a plain function called once per executed query with the query text, its
arguments and the elapsed seconds; ``with conn.query_logger(callback):`` installs one for a block
only. Parameterized queries (``$1``) keep one text for every argument value, so grouping by text
gives per-statement statistics. Failed queries are logged too, and so are the statements the driver
sends for you (BEGIN, COMMIT, LISTEN, ...).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import pgproto_anyio

from ._runner import ExampleFailed, check, run

TABLE = "query_analyzer_items"


@dataclass
class Stats:
    count: int = 0
    total: float = 0.0
    max: float = 0.0
    slowest_args: tuple[object, ...] = ()

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0


class QueryAnalyzer:
    """A query logger: statistics per query text."""

    def __init__(self) -> None:
        self.stats: dict[str, Stats] = {}

    def __call__(self, query: str, args: tuple[object, ...], duration: float) -> None:
        stats = self.stats.setdefault(" ".join(query.split()), Stats())  # one line per statement
        stats.count += 1
        stats.total += duration
        if duration >= stats.max:
            stats.max, stats.slowest_args = duration, args

    def report(self, width: int = 60) -> str:
        lines = [f"{'count':>5} {'total ms':>9} {'mean ms':>8} {'max ms':>8}  query"]
        for query, s in sorted(self.stats.items(), key=lambda item: item[1].total, reverse=True):
            shown = query if len(query) <= width else query[: width - 3] + "..."
            lines.append(f"{s.count:>5} {s.total * 1e3:>9.2f} {s.mean * 1e3:>8.2f} {s.max * 1e3:>8.2f}  {shown}")
        return "\n".join(lines)


async def main(dsn: str | None) -> None:
    analyzer = QueryAnalyzer()
    lookup = f"SELECT name, price FROM {TABLE} WHERE id = $1"
    async with pgproto_anyio.connect(dsn) as conn:
        await conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        try:
            with conn.query_logger(analyzer):
                await conn.execute(f"CREATE TABLE {TABLE} (id int PRIMARY KEY, name text, price numeric)")
                await conn.executemany(
                    f"INSERT INTO {TABLE} VALUES ($1, $2, $3)", [(i, f"item {i}", i * 1.5) for i in range(1, 101)]
                )
                for item in range(1, 21):
                    await conn.fetchrow(lookup, item)
                for low in (10, 50, 90):
                    await conn.fetch(f"SELECT * FROM {TABLE} WHERE price > $1 ORDER BY price", low)
                async with conn.transaction():  # BEGIN and COMMIT are logged as well
                    await conn.execute(f"UPDATE {TABLE} SET price = price * 1.1 WHERE id <= $1", 10)
                await conn.fetchval(f"SELECT sum(price) FROM {TABLE}")
                await conn.fetchval("SELECT pg_sleep(0.05)")
                with contextlib.suppress(pgproto_anyio.UndefinedColumnError):
                    await conn.fetch(f"SELECT no_such_column FROM {TABLE}")  # a failed query is logged too
            await conn.fetchval("SELECT 'not logged: after the with block'")
        finally:
            await conn.execute(f"DROP TABLE IF EXISTS {TABLE}")

    print(analyzer.report())
    count = sum(s.count for s in analyzer.stats.values())
    print(f"{count} queries, {len(analyzer.stats)} distinct statements")
    slowest = analyzer.stats[lookup]
    print(f"slowest lookup: args {slowest.slowest_args} in {slowest.max * 1e3:.2f} ms")
    check(analyzer.stats[lookup].count == 20, f"the lookup ran {analyzer.stats[lookup].count} times, not 20")
    check(analyzer.stats["BEGIN"].count == 1 and analyzer.stats["COMMIT"].count == 1, "BEGIN/COMMIT not logged")
    check(analyzer.stats["SELECT pg_sleep(0.05)"].max >= 0.05, "pg_sleep(0.05) took less than 50 ms")
    check(f"SELECT no_such_column FROM {TABLE}" in analyzer.stats, "the failed query was not logged")
    check(count == 31, f"{count} queries logged, expected 31")
    if any("not logged" in query for query in analyzer.stats):
        raise ExampleFailed("a query after the with block was logged")
    print("the statistics cover every query of the workload, and nothing after it")


if __name__ == "__main__":
    run(main, __doc__)
