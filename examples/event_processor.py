"""An event processor: jobs arrive as notifications, slow queries are logged, a lost connection is replaced.

    python -m examples.event_processor [DSN] [--trio]

Three listener kinds work together. An ``async def`` notification handler runs each job with a query on
the connection that delivered it (the next job waits until it is done). A query logger reports every
query slower than a threshold, with its arguments. A termination listener notices when the session ends
(here: ``pg_terminate_backend`` from another connection) and wakes a supervisor task that reconnects
and listens again. LISTEN belongs to a session: a job sent while no session listens is not delivered,
so a real processor would also re-read pending work from a table after reconnecting.
"""

from __future__ import annotations

import json

import anyio

import pgproto_anyio

from ._runner import ExampleFailed, check, deadline, run

CHANNEL = "event_processor_jobs"
SLOW = 0.1  # seconds: a query at least this slow is reported


class EventProcessor:
    """Runs the jobs announced on a channel; logs slow queries; reconnects after a connection loss."""

    def __init__(self, dsn: str | None) -> None:
        self._dsn = dsn
        self._conn: pgproto_anyio.Connection | None = None
        self._lost = anyio.Event()
        self._closing = False
        self.processed: list[int] = []
        self.slow_queries: list[tuple[str, tuple[object, ...], float]] = []
        self.losses: list[str] = []
        self.reconnected = anyio.Event()

    @property
    def conn(self) -> pgproto_anyio.Connection:
        assert self._conn is not None, "call start() first"
        return self._conn

    async def start(self) -> None:
        self._conn = await self._connect()

    async def supervise(self) -> None:
        """Run in a task while the processor is used: replace the connection each time it is lost."""
        while True:
            await self._lost.wait()
            self._lost = anyio.Event()
            delay = 0.1
            while True:
                await anyio.sleep(delay)
                try:
                    self._conn = await self._connect()
                    break
                except (OSError, TimeoutError, pgproto_anyio.PostgresError) as exc:
                    print(f"reconnect failed: {exc}; retrying")
                    delay = min(delay * 2, 2.0)
            print(f"reconnected: backend {self.conn.get_server_pid()}")
            self.reconnected.set()
            self.reconnected = anyio.Event()

    async def close(self) -> None:
        self._closing = True
        if self._conn is not None:
            await self._conn.close()

    async def _connect(self) -> pgproto_anyio.Connection:
        conn = await pgproto_anyio.connect(self._dsn)
        conn.add_query_logger(self._log_query)

        async def on_termination() -> None:
            reason = conn.termination_reason
            why = f"{reason.message} (sqlstate {reason.sqlstate})" if reason else "the socket closed"
            print(f"connection lost: {why}")
            self.losses.append(why)
            if not self._closing:
                self._lost.set()

        conn.add_termination_listener(on_termination)
        await conn.add_listener(CHANNEL, self._run_job)
        return conn

    def _log_query(self, query: str, args: tuple[object, ...], duration: float) -> None:
        if duration >= SLOW:
            print(f"slow query, {duration * 1e3:.0f} ms: {query} {args}")
            self.slow_queries.append((query, args, duration))

    async def _run_job(self, channel: str, payload: str) -> None:
        job = json.loads(payload)
        # The job's work is a query on the same connection; its duration reaches the query logger.
        done = await self.conn.fetchval("SELECT $1::int FROM pg_sleep($2)", job["id"], job["seconds"])
        assert isinstance(done, int)
        print(f"job {done} done")
        self.processed.append(done)


async def main(dsn: str | None) -> None:
    processor = EventProcessor(dsn)
    await processor.start()
    try:
        async with pgproto_anyio.connect(dsn) as producer, anyio.create_task_group() as tasks:
            tasks.start_soon(processor.supervise)

            async def submit(job_id: int, seconds: float) -> None:
                payload = json.dumps({"id": job_id, "seconds": seconds})
                await producer.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)

            async def wait_for_jobs(count: int) -> None:
                with deadline(10, f"{count} processed jobs"):
                    while len(processor.processed) < count:
                        await anyio.sleep(0.01)

            for job_id, seconds in ((1, 0), (2, 0.25), (3, 0)):
                await submit(job_id, seconds)
            await wait_for_jobs(3)

            old = processor.conn
            reconnected = processor.reconnected
            print(f"terminating backend {old.get_server_pid()} from another connection")
            await producer.fetchval("SELECT pg_terminate_backend($1)", old.get_server_pid())
            with deadline(10, "the reconnection"):
                await reconnected.wait()
            check(old.is_closed(), "the old connection is not closed")
            reason = old.termination_reason
            check(reason is not None and reason.sqlstate == "57P01", f"termination reason: {reason}")

            for job_id, seconds in ((4, 0), (5, 0.25)):
                await submit(job_id, seconds)
            await wait_for_jobs(5)
            tasks.cancel_scope.cancel()
    finally:
        await processor.close()

    check(processor.processed == [1, 2, 3, 4, 5], f"processed jobs: {processor.processed}")
    slow_jobs = [args[0] for query, args, _ in processor.slow_queries if "pg_sleep" in query and args[1] == 0.25]
    check(slow_jobs == [2, 5], f"slow jobs logged: {slow_jobs}")
    if len(processor.losses) != 1:
        raise ExampleFailed(f"expected one connection loss, saw {processor.losses}")
    print("every job ran once, in order, across a connection loss; both slow jobs were reported")


if __name__ == "__main__":
    run(main, __doc__)
