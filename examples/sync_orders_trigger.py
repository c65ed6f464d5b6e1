"""Row changes as events, blocking version: a trigger NOTIFYs a JSON payload for every change of an order.

    python -m examples.sync_orders_trigger [DSN]

The trigger calls ``pg_notify('orders', json_build_object(...)::text)`` for each inserted or updated
row; PostgreSQL delivers the notifications when the transaction commits (none for a rolled-back one).
Here the listener uses ``conn.notifications()``, a plain ``for`` loop that LISTENs, yields each
`pgproto.Notification`, stops after ``timeout`` seconds without one, and UNLISTENs at the end.
"""

from __future__ import annotations

import json
import threading

import pgproto_sync

from ._runner import check
from .orders_trigger import CHANNEL, SETUP, TABLE, TEARDOWN, Rollback
from .sync_runner import run


def write_orders(writer: pgproto_sync.Connection) -> list[dict[str, object]]:
    """Insert and update some orders (one transaction rolled back); the events a listener should see."""
    insert = f"INSERT INTO {TABLE} (customer) VALUES ($1) RETURNING id"
    alice = writer.fetchval(insert, "alice")
    bob = writer.fetchval(insert, "bob")
    with writer.transaction():  # both updates are notified together, at COMMIT
        for order in (alice, bob):
            writer.execute(f"UPDATE {TABLE} SET status = 'paid' WHERE id = $1", order)
    try:
        with writer.transaction():
            writer.execute(insert, "mallory")
            raise Rollback
    except Rollback:
        print("rolled back the order of mallory: no event for it")
    writer.execute(f"UPDATE {TABLE} SET status = 'shipped' WHERE id = $1", alice)
    return [
        {"op": "INSERT", "id": alice, "status": "new"},
        {"op": "INSERT", "id": bob, "status": "new"},
        {"op": "UPDATE", "id": alice, "status": "paid"},
        {"op": "UPDATE", "id": bob, "status": "paid"},
        {"op": "UPDATE", "id": alice, "status": "shipped"},
    ]


def main(dsn: str | None) -> None:
    with pgproto_sync.connect(dsn) as listener, pgproto_sync.connect(dsn) as writer:
        writer.execute(TEARDOWN + SETUP)  # drop leftovers of an interrupted run first
        listening = threading.Event()
        expected: list[dict[str, object]] = []

        def on_query(query: str, args: tuple[object, ...], duration: float) -> None:
            if query.startswith("LISTEN"):  # the iterator LISTENs when the loop starts: write from now on
                listening.set()

        def write_when_listening() -> None:
            if listening.wait(10):
                expected.extend(write_orders(writer))

        listener.add_query_logger(on_query)
        writing = threading.Thread(target=write_when_listening, daemon=True)
        writing.start()
        events: list[object] = []
        try:
            for notification in listener.notifications(CHANNEL, timeout=5):
                event = json.loads(notification.payload)
                print(f"event on {notification.channel!r}: order {event['id']} {event['op']}, status {event['status']}")
                events.append(event)
                if len(events) == 5:
                    break
            writing.join(10)
            check(not writing.is_alive(), "the writer did not finish")
            check(events == expected, f"expected {expected}, got {events}")
            print(f"received all {len(events)} order events, in commit order; the loop has UNLISTENed")
        finally:
            writer.execute(TEARDOWN)
    print(f"dropped {TABLE}")


if __name__ == "__main__":
    run(main, __doc__)
