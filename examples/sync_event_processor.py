"""An event processor on threads: a worker thread polls for jobs, slow queries are logged, a lost
connection is replaced.

    python -m examples.sync_event_processor [DSN]

The worker thread loops on ``conn.poll(timeout)``; the job handler runs in that thread and queries the
connection that delivered the job. The main thread uses the same connection meanwhile: calls are
serialised, and poll() waits without holding the connection, so neither thread blocks the other. A
query logger reports queries slower than a threshold; a termination listener records why the session
ended (here ``pg_terminate_backend``), and the worker reconnects and LISTENs again. A job sent while
no session listens is lost: a real processor would also re-read pending work from a table.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable

import pgproto_sync

from ._runner import ExampleFailed, check
from .sync_runner import run

CHANNEL = "event_processor_jobs"
SLOW = 0.1  # seconds: a query at least this slow is reported


class EventProcessor:
    """Runs the jobs announced on a channel in a thread of its own; logs slow queries; reconnects."""

    def __init__(self, dsn: str | None) -> None:
        self._dsn = dsn
        self._stop = threading.Event()
        self.processed: list[int] = []
        self.slow_queries: list[tuple[str, tuple[object, ...], float]] = []
        self.losses: list[str] = []
        self.listening = threading.Event()  # set whenever a (new) session listens
        self.conn = self._connect()
        self._thread = threading.Thread(target=self._work, name="event-processor", daemon=True)

    def _connect(self) -> pgproto_sync.Connection:
        conn = pgproto_sync.connect(self._dsn)
        conn.add_query_logger(self._on_query)
        conn.add_termination_listener(self._on_lost)
        conn.add_listener(CHANNEL, self._on_job)
        self.listening.set()
        return conn

    def _on_job(self, channel: str, payload: str) -> None:
        job = json.loads(payload)
        result = self.conn.fetchval("SELECT $1::int * 2 FROM pg_sleep($2)", job["id"], job["seconds"])
        print(f"[{threading.current_thread().name}] job {job['id']} done: {result}")
        self.processed.append(job["id"])

    def _on_query(self, query: str, args: tuple[object, ...], duration: float) -> None:
        if duration >= SLOW:
            print(f"slow query ({duration * 1e3:.0f} ms): {query} {args}")
            self.slow_queries.append((query, args, duration))

    def _on_lost(self) -> None:
        reason = self.conn.termination_reason
        self.losses.append(str(reason.message) if reason else "the socket closed")
        self.listening.clear()
        print(f"connection lost: {self.losses[-1]}")

    def _work(self) -> None:
        while not self._stop.is_set():
            if self.conn.is_closed():
                self.conn = self._reconnect()
                continue
            # Closed by __exit__, or lost in a call of the main thread: the loop's next turn decides.
            with contextlib.suppress(pgproto_sync.ConnectionDoesNotExistError):
                self.conn.poll(0.1)

    def _reconnect(self) -> pgproto_sync.Connection:
        delay = 0.1
        while True:
            try:
                conn = self._connect()
            except (OSError, pgproto_sync.PostgresError) as exc:
                print(f"reconnect failed: {exc}; retrying in {delay:g} s")
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            print(f"reconnected (backend {conn.get_server_pid()})")
            return conn

    def __enter__(self) -> EventProcessor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.conn.close()


def wait_for(condition: Callable[[], object], what: str, seconds: float = 5) -> None:
    """Wait (the worker thread does the work) until `condition()` holds; fail the example after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise ExampleFailed(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(0.01)


def main(dsn: str | None) -> None:
    with pgproto_sync.connect(dsn) as producer, EventProcessor(dsn) as processor:

        def send(job_id: int, seconds: float = 0.0) -> None:
            producer.execute("SELECT pg_notify($1, $2)", CHANNEL, json.dumps({"id": job_id, "seconds": seconds}))

        send(1)
        send(2, seconds=SLOW * 1.5)
        # The main thread queries the shared connection while the worker polls it.
        check(processor.conn.fetchval("SELECT $1::text", "main thread") == "main thread", "main thread query")
        wait_for(lambda: processor.processed == [1, 2], "jobs 1 and 2")
        # Job 2's query sleeps past the threshold; on a busy machine others may be slow too.
        check(any(args[:1] == (2,) for _, args, _ in processor.slow_queries), "job 2 was not logged as slow")

        old_pid = processor.conn.get_server_pid()
        producer.fetchval("SELECT pg_terminate_backend($1)", old_pid)
        wait_for(lambda: processor.losses and processor.listening.is_set()
                 and processor.conn.get_server_pid() != old_pid, "the reconnection")  # fmt: skip
        send(3)
        wait_for(lambda: processor.processed == [1, 2, 3], "job 3, after the reconnection")

    check(processor.losses == ["terminating connection due to administrator command"], f"losses: {processor.losses}")
    print("jobs 1, 2 and 3 processed, the slow job reported, one connection loss survived")


if __name__ == "__main__":
    run(main, __doc__)
