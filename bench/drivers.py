"""The drivers under test: each runs one workload of `n` items and returns the seconds it took (wall
clock, and this process's CPU time).

Connecting and preparing tables is outside the timed part. Every driver does each workload the way
its own API does it: listener callbacks where the driver has them, its own placeholders, its own
executemany. The peers are imported only when run, so the pgproto drivers work without the bench extra.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Callable
from time import perf_counter, process_time
from typing import Final, NamedTuple

import anyio

from .workloads import CHANNEL, FETCH_COLUMNS, WARMUP, insert_rows, notices_sql, notify_sql


class Timing(NamedTuple):
    """The timed part of a workload: wall-clock seconds, and this process's CPU seconds in the same span
    (the client's own work: the server runs in other processes)."""

    wall: float
    cpu: float


def _start() -> Timing:
    return Timing(perf_counter(), process_time())


def _since(start: Timing) -> Timing:
    return Timing(perf_counter() - start.wall, process_time() - start.cpu)


Runner = Callable[[str, str, int], Timing]

_FETCH_PG: Final = f"SELECT {FETCH_COLUMNS} FROM bench_fetch LIMIT $1"
_FETCH_PSYCOPG: Final = f"SELECT {FETCH_COLUMNS} FROM bench_fetch LIMIT %s"
_FETCH_PG8000: Final = f"SELECT {FETCH_COLUMNS} FROM bench_fetch LIMIT :n"


class Counter:
    """Counts callback calls; `done` fires at the `target`-th (set by the async drivers)."""

    def __init__(self, target: int, done: Callable[[], object] = lambda: None) -> None:
        self.count = 0
        self.target = target
        self._done = done

    def __call__(self, *args: object) -> None:
        self.count += 1
        if self.count == self.target:
            self._done()

    def append(self, item: object) -> None:
        """pg8000 appends to `conn.notifications` / `conn.notices`: counting is its listener."""
        self(item)


# -- pgproto_anyio (asyncio and trio) --------------------------------------------------------------------


async def _pgproto_anyio(workload: str, dsn: str, n: int) -> Timing:
    import pgproto_anyio

    async with pgproto_anyio.connect(dsn) as conn:
        if workload in ("rtt", "rtt_param"):
            param = workload == "rtt_param"
            sql = "SELECT $1::int4" if param else "SELECT 1"
            for i in range(WARMUP):
                await (conn.fetchval(sql, i) if param else conn.fetchval(sql))
            start = _start()
            if param:
                for i in range(n):
                    await conn.fetchval(sql, i)
            else:
                for _ in range(n):
                    await conn.fetchval(sql)
            return _since(start)
        if workload == "fetch":
            start = _start()
            rows = await conn.fetch(_FETCH_PG, n)
            elapsed = _since(start)
            assert len(rows) == n
            return elapsed
        if workload == "executemany":
            rows_in = insert_rows(n)
            await conn.execute("TRUNCATE bench_insert")
            start = _start()
            await conn.executemany("INSERT INTO bench_insert VALUES ($1, $2)", rows_in)
            return _since(start)
        done = anyio.Event()
        counter = Counter(n, done.set)
        if workload == "notify":
            await conn.add_listener(CHANNEL, counter)
            async with pgproto_anyio.connect(dsn) as sender:
                start = _start()
                await sender.execute(notify_sql(n))
                await done.wait()
                return _since(start)
        if workload == "notices":
            conn.add_log_listener(counter)
            start = _start()
            await conn.execute(notices_sql(n))
            await done.wait()
            return _since(start)
    raise ValueError(f"unknown workload {workload!r}")


def pgproto_anyio_asyncio(workload: str, dsn: str, n: int) -> Timing:
    return anyio.run(_pgproto_anyio, workload, dsn, n, backend="asyncio")


def pgproto_anyio_trio(workload: str, dsn: str, n: int) -> Timing:
    return anyio.run(_pgproto_anyio, workload, dsn, n, backend="trio")


# -- pgproto_sync -------------------------------------------------------------------------------------------


def pgproto_sync(workload: str, dsn: str, n: int) -> Timing:
    import pgproto_sync

    with pgproto_sync.connect(dsn) as conn:
        if workload in ("rtt", "rtt_param"):
            param = workload == "rtt_param"
            sql = "SELECT $1::int4" if param else "SELECT 1"
            for i in range(WARMUP):
                conn.fetchval(sql, i) if param else conn.fetchval(sql)
            start = _start()
            if param:
                for i in range(n):
                    conn.fetchval(sql, i)
            else:
                for _ in range(n):
                    conn.fetchval(sql)
            return _since(start)
        if workload == "fetch":
            start = _start()
            rows = conn.fetch(_FETCH_PG, n)
            elapsed = _since(start)
            assert len(rows) == n
            return elapsed
        if workload == "executemany":
            rows_in = insert_rows(n)
            conn.execute("TRUNCATE bench_insert")
            start = _start()
            conn.executemany("INSERT INTO bench_insert VALUES ($1, $2)", rows_in)
            return _since(start)
        counter = Counter(n)
        if workload == "notify":
            conn.add_listener(CHANNEL, counter)
            with pgproto_sync.connect(dsn) as sender:
                start = _start()
                sender.execute(notify_sql(n))
                while counter.count < n:
                    conn.poll()
                return _since(start)
        if workload == "notices":
            conn.add_log_listener(counter)
            start = _start()
            conn.execute(notices_sql(n))
            elapsed = _since(start)
            assert counter.count == n
            return elapsed
    raise ValueError(f"unknown workload {workload!r}")


# -- asyncpg -----------------------------------------------------------------------------------------------


async def _asyncpg(workload: str, dsn: str, n: int) -> Timing:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        if workload in ("rtt", "rtt_param"):
            param = workload == "rtt_param"
            sql = "SELECT $1::int4" if param else "SELECT 1"
            for i in range(WARMUP):
                await (conn.fetchval(sql, i) if param else conn.fetchval(sql))
            start = _start()
            if param:
                for i in range(n):
                    await conn.fetchval(sql, i)
            else:
                for _ in range(n):
                    await conn.fetchval(sql)
            return _since(start)
        if workload == "fetch":
            start = _start()
            rows = await conn.fetch(_FETCH_PG, n)
            elapsed = _since(start)
            assert len(rows) == n
            return elapsed
        if workload == "executemany":
            rows_in = insert_rows(n)
            await conn.execute("TRUNCATE bench_insert")
            start = _start()
            await conn.executemany("INSERT INTO bench_insert VALUES ($1, $2)", rows_in)
            return _since(start)
        done = asyncio.Event()
        counter = Counter(n, done.set)
        if workload == "notify":
            await conn.add_listener(CHANNEL, counter)
            sender = await asyncpg.connect(dsn)
            try:
                start = _start()
                await sender.execute(notify_sql(n))
                await done.wait()
                return _since(start)
            finally:
                await sender.close()
        if workload == "notices":
            conn.add_log_listener(counter)
            start = _start()
            await conn.execute(notices_sql(n))
            await done.wait()
            return _since(start)
    finally:
        await conn.close()
    raise ValueError(f"unknown workload {workload!r}")


def asyncpg_driver(workload: str, dsn: str, n: int) -> Timing:
    return asyncio.run(_asyncpg(workload, dsn, n))


# -- psycopg (async and sync), with its C extension ---------------------------------------------------------


async def _psycopg_async(workload: str, dsn: str, n: int) -> Timing:
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = conn.cursor()
        if workload in ("rtt", "rtt_param"):
            param = workload == "rtt_param"
            sql = "SELECT %s::int4" if param else "SELECT 1"
            for i in range(WARMUP):
                await cur.execute(sql, (i,) if param else None)
                await cur.fetchone()
            start = _start()
            if param:
                for i in range(n):
                    await cur.execute(sql, (i,))
                    await cur.fetchone()
            else:
                for _ in range(n):
                    await cur.execute(sql)
                    await cur.fetchone()
            return _since(start)
        if workload == "fetch":
            start = _start()
            await cur.execute(_FETCH_PSYCOPG, (n,))
            rows = await cur.fetchall()
            elapsed = _since(start)
            assert len(rows) == n
            return elapsed
        if workload == "executemany":
            rows_in = insert_rows(n)
            await cur.execute("TRUNCATE bench_insert")
            start = _start()
            async with conn.transaction():
                await cur.executemany("INSERT INTO bench_insert VALUES (%s, %s)", rows_in)
            return _since(start)
        counter = Counter(n)
        if workload == "notify":
            await cur.execute(f"LISTEN {CHANNEL}")
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as sender:
                start = _start()
                await sender.execute(notify_sql(n))
                async for notify in conn.notifies():
                    counter(notify)
                    if counter.count == n:
                        break
                return _since(start)
        if workload == "notices":
            conn.add_notice_handler(counter)
            start = _start()
            await cur.execute(notices_sql(n))
            elapsed = _since(start)
            assert counter.count == n
            return elapsed
    raise ValueError(f"unknown workload {workload!r}")


def psycopg_async(workload: str, dsn: str, n: int) -> Timing:
    return asyncio.run(_psycopg_async(workload, dsn, n))


def psycopg_sync(workload: str, dsn: str, n: int) -> Timing:
    import psycopg

    with psycopg.Connection.connect(dsn, autocommit=True) as conn:
        cur = conn.cursor()
        if workload in ("rtt", "rtt_param"):
            param = workload == "rtt_param"
            sql = "SELECT %s::int4" if param else "SELECT 1"
            for i in range(WARMUP):
                cur.execute(sql, (i,) if param else None)
                cur.fetchone()
            start = _start()
            if param:
                for i in range(n):
                    cur.execute(sql, (i,))
                    cur.fetchone()
            else:
                for _ in range(n):
                    cur.execute(sql)
                    cur.fetchone()
            return _since(start)
        if workload == "fetch":
            start = _start()
            cur.execute(_FETCH_PSYCOPG, (n,))
            rows = cur.fetchall()
            elapsed = _since(start)
            assert len(rows) == n
            return elapsed
        if workload == "executemany":
            rows_in = insert_rows(n)
            cur.execute("TRUNCATE bench_insert")
            start = _start()
            with conn.transaction():
                cur.executemany("INSERT INTO bench_insert VALUES (%s, %s)", rows_in)
            return _since(start)
        counter = Counter(n)
        if workload == "notify":
            cur.execute(f"LISTEN {CHANNEL}")
            with psycopg.Connection.connect(dsn, autocommit=True) as sender:
                start = _start()
                sender.execute(notify_sql(n))
                for notify in conn.notifies():
                    counter(notify)
                    if counter.count == n:
                        break
                return _since(start)
        if workload == "notices":
            conn.add_notice_handler(counter)
            start = _start()
            cur.execute(notices_sql(n))
            elapsed = _since(start)
            assert counter.count == n
            return elapsed
    raise ValueError(f"unknown workload {workload!r}")


# -- pg8000 (its native API) ----------------------------------------------------------------------------------


def _pg8000_connect(dsn: str) -> object:
    import pg8000.native

    url = urllib.parse.urlsplit(dsn)
    return pg8000.native.Connection(
        user=urllib.parse.unquote(url.username or "postgres"),
        password=urllib.parse.unquote(url.password) if url.password else None,
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        database=url.path.lstrip("/") or None,
    )


def pg8000_driver(workload: str, dsn: str, n: int) -> Timing:
    import pg8000.native

    conn = _pg8000_connect(dsn)
    assert isinstance(conn, pg8000.native.Connection)
    try:
        if workload in ("rtt", "rtt_param"):
            param = workload == "rtt_param"
            sql = "SELECT :v::int4" if param else "SELECT 1"
            for i in range(WARMUP):
                conn.run(sql, v=i) if param else conn.run(sql)
            start = _start()
            if param:
                for i in range(n):
                    conn.run(sql, v=i)
            else:
                for _ in range(n):
                    conn.run(sql)
            return _since(start)
        if workload == "fetch":
            start = _start()
            rows = conn.run(_FETCH_PG8000, n=n)
            elapsed = _since(start)
            assert len(rows) == n
            return elapsed
        if workload == "executemany":
            # pg8000.native has no executemany: a prepared statement run once per row, in one transaction.
            rows_in = insert_rows(n)
            conn.run("TRUNCATE bench_insert")
            statement = conn.prepare("INSERT INTO bench_insert VALUES (:a, :b)")
            start = _start()
            conn.run("BEGIN")
            for a, b in rows_in:
                statement.run(a=a, b=b)
            conn.run("COMMIT")
            elapsed = _since(start)
            statement.close()
            return elapsed
        counter = Counter(n)
        if workload == "notify":
            # pg8000 keeps the last 100 notifications in `conn.notifications` while a query runs, and has no
            # way to wait for one: the counter stands in for that deque, and a no-op query polls.
            conn.run(f"LISTEN {CHANNEL}")
            conn.notifications = counter
            sender = _pg8000_connect(dsn)
            assert isinstance(sender, pg8000.native.Connection)
            try:
                start = _start()
                sender.run(notify_sql(n))
                while counter.count < n:
                    conn.run("SELECT 1")
                return _since(start)
            finally:
                sender.close()
        if workload == "notices":
            conn.notices = counter  # pg8000 keeps the last 100 notices; the counter stands in for that deque
            start = _start()
            conn.run(notices_sql(n))
            elapsed = _since(start)
            assert counter.count == n
            return elapsed
    finally:
        conn.close()
    raise ValueError(f"unknown workload {workload!r}")


#: Every driver, by the name the command line and the report use; asyncpg is the reference.
DRIVERS: Final[dict[str, Runner]] = {
    "pgproto_anyio-asyncio": pgproto_anyio_asyncio,
    "pgproto_anyio-trio": pgproto_anyio_trio,
    "pgproto_sync": pgproto_sync,
    "asyncpg": asyncpg_driver,
    "psycopg-async": psycopg_async,
    "psycopg-sync": psycopg_sync,
    "pg8000": pg8000_driver,
}
REFERENCE: Final = "asyncpg"
PGPROTO_DRIVERS: Final = ("pgproto_anyio-asyncio", "pgproto_anyio-trio", "pgproto_sync")
