"""Row changes as events: a trigger NOTIFYs a JSON payload for every change of an order.

    python -m examples.orders_trigger [DSN] [--trio]

The trigger on the orders table calls ``pg_notify('orders', json_build_object(...)::text)`` for each
inserted or updated row. PostgreSQL delivers the notifications when the transaction commits (none
for a rolled-back one), so a listener on any other connection sees exactly the committed changes,
in commit order. The listener here json-decodes each payload and prints it.
"""

from __future__ import annotations

import json
from typing import Any

import anyio

import pgproto_anyio

from ._runner import check, deadline, run

CHANNEL = "orders"
TABLE = "orders_trigger_orders"  # a name of its own, so the example cannot touch a real table
FUNCTION = "orders_trigger_notify"

SETUP = f"""
CREATE TABLE {TABLE} (
    id serial PRIMARY KEY,
    customer text NOT NULL,
    status text NOT NULL DEFAULT 'new'
);
CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', json_build_object('op', TG_OP, 'id', NEW.id, 'status', NEW.status)::text);
    RETURN NEW;
END
$$;
CREATE TRIGGER {TABLE}_notify AFTER INSERT OR UPDATE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {FUNCTION}();
"""
TEARDOWN = f"DROP TABLE IF EXISTS {TABLE}; DROP FUNCTION IF EXISTS {FUNCTION}();"


class Rollback(Exception):
    """Raised inside a transaction block to roll it back."""


async def main(dsn: str | None) -> None:
    send, received = anyio.create_memory_object_stream[dict[str, Any]](100)

    def on_order(channel: str, payload: str) -> None:
        event = json.loads(payload)
        print(f"event on {channel!r}: order {event['id']} {event['op']}, status {event['status']}")
        send.send_nowait(event)

    async with pgproto_anyio.connect(dsn) as listener, pgproto_anyio.connect(dsn) as writer:
        await writer.execute(TEARDOWN + SETUP)  # drop leftovers of an interrupted run first
        try:
            await listener.add_listener(CHANNEL, on_order)
            print(f"listening on {CHANNEL!r} (backend {listener.get_server_pid()})")

            insert = f"INSERT INTO {TABLE} (customer) VALUES ($1) RETURNING id"
            alice = await writer.fetchval(insert, "alice")
            bob = await writer.fetchval(insert, "bob")
            async with writer.transaction():  # both updates are notified together, at COMMIT
                for order in (alice, bob):
                    await writer.execute(f"UPDATE {TABLE} SET status = 'paid' WHERE id = $1", order)
            try:
                async with writer.transaction():
                    await writer.execute(insert, "mallory")
                    raise Rollback
            except Rollback:
                print("rolled back the order of mallory: no event for it")
            await writer.execute(f"UPDATE {TABLE} SET status = 'shipped' WHERE id = $1", alice)

            expected = [
                {"op": "INSERT", "id": alice, "status": "new"},
                {"op": "INSERT", "id": bob, "status": "new"},
                {"op": "UPDATE", "id": alice, "status": "paid"},
                {"op": "UPDATE", "id": bob, "status": "paid"},
                {"op": "UPDATE", "id": alice, "status": "shipped"},
            ]
            events: list[object] = []
            with deadline(5, f"{len(expected)} order events"):
                while len(events) < len(expected):
                    events.append(await received.receive())
            check(events == expected, f"expected {expected}, got {events}")
            print(f"received all {len(events)} order events, in commit order")
            await listener.remove_listener(CHANNEL, on_order)
        finally:
            await writer.execute(TEARDOWN)
    print(f"dropped {TABLE}")


if __name__ == "__main__":
    run(main, __doc__)
