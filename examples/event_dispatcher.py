"""An EventDispatcher: JSON notifications routed by their "type" field to registered async handlers.

    python -m examples.event_dispatcher [DSN] [--trio]

One channel carries many kinds of events, ``{"type": "order.placed", ...}``. The dispatcher LISTENs
once, decodes each payload and awaits the handlers registered for its type, in order. A handler may
run queries on the same connection. Events of unknown type, payloads that are not JSON objects, and
handlers that raise are recorded, and never stop the events that follow.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import anyio

import pgproto_anyio

from ._runner import check, deadline, run

CHANNEL = "event_dispatcher_events"

Event = dict[str, Any]
Handler = Callable[[Event], Awaitable[None]]


class EventDispatcher:
    """Routes the JSON notifications of one channel to async handlers, by the payload's "type"."""

    def __init__(self, conn: pgproto_anyio.Connection, channel: str) -> None:
        self._conn = conn
        self.channel = channel
        self._handlers: defaultdict[str, list[Handler]] = defaultdict(list)
        self.unhandled: list[Event] = []  # events no handler was registered for
        self.malformed: list[str] = []  # payloads that are not a JSON object with a string "type"
        self.failures: list[tuple[str, Exception]] = []  # (handler name, what it raised)

    def on(self, event_type: str) -> Callable[[Handler], Handler]:
        """Decorator: call the handler for every event of `event_type` (after those registered before)."""

        def register(handler: Handler) -> Handler:
            self._handlers[event_type].append(handler)
            return handler

        return register

    async def __aenter__(self) -> EventDispatcher:
        await self._conn.add_listener(self.channel, self._dispatch)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._conn.is_closed():
            await self._conn.remove_listener(self.channel, self._dispatch)

    async def _dispatch(self, channel: str, payload: str) -> None:
        # The driver awaits this before it dispatches the channel's next notification: events are
        # handled one at a time, in the order they were sent.
        try:
            event = json.loads(payload)
        except json.JSONDecodeError:
            event = None
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            print(f"malformed payload: {payload!r}")
            self.malformed.append(payload)
            return
        handlers = self._handlers.get(event["type"])
        if not handlers:
            print(f"no handler for {event['type']!r}")
            self.unhandled.append(event)
            return
        for handler in handlers:
            try:
                await handler(event)
            except Exception as exc:  # one failing handler must not stop the others, nor later events
                print(f"handler {handler.__name__} failed on {event['type']!r}: {exc!r}")
                self.failures.append((handler.__name__, exc))


async def main(dsn: str | None) -> None:
    emails: list[str] = []
    totals: dict[int, int] = {}
    shipped: list[int] = []
    batch_done = anyio.Event()

    async with pgproto_anyio.connect(dsn) as conn, pgproto_anyio.connect(dsn) as producer:
        dispatcher = EventDispatcher(conn, CHANNEL)

        @dispatcher.on("user.signed_up")
        async def send_welcome_email(event: Event) -> None:
            emails.append(event["email"])  # KeyError for an event without an email
            print(f"welcome email to {event['email']}")

        @dispatcher.on("order.placed")
        async def charge(event: Event) -> None:
            # A query on the connection that delivered the event.
            total = await conn.fetchval("SELECT $1::int * $2::int", event["cents"], event["quantity"])
            assert isinstance(total, int)
            totals[event["order"]] = total
            print(f"order {event['order']}: charged {total / 100:.2f}")

        @dispatcher.on("order.placed")
        async def ship(event: Event) -> None:
            shipped.append(event["order"])
            print(f"order {event['order']}: shipped")

        @dispatcher.on("batch.done")
        async def finish(event: Event) -> None:
            batch_done.set()

        async with dispatcher:
            payloads = [
                json.dumps({"type": "user.signed_up", "user": "alice", "email": "alice@example.com"}),
                json.dumps({"type": "order.placed", "order": 1, "cents": 1250, "quantity": 3}),
                json.dumps({"type": "invoice.paid", "invoice": 7}),
                "this is not JSON",
                json.dumps({"type": "user.signed_up", "user": "bob"}),
                json.dumps({"type": "order.placed", "order": 2, "cents": 999, "quantity": 1}),
                json.dumps({"type": "batch.done"}),
            ]
            print(f"sending {len(payloads)} events on {CHANNEL!r} from another connection")
            for payload in payloads:
                await producer.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
            with deadline(5, "the batch.done event"):
                await batch_done.wait()  # events are handled in order: every earlier one is done

        print(
            f"summary: {len(emails)} welcome email, {len(totals)} orders charged, {len(shipped)} shipped, "
            f"{len(dispatcher.unhandled)} unhandled, {len(dispatcher.malformed)} malformed, "
            f"{len(dispatcher.failures)} handler failure"
        )
        check(emails == ["alice@example.com"], f"welcome emails: {emails}")
        check(totals == {1: 3750, 2: 999}, f"charged totals: {totals}")
        check(shipped == [1, 2], f"shipped orders: {shipped}")
        check([e["type"] for e in dispatcher.unhandled] == ["invoice.paid"], f"unhandled: {dispatcher.unhandled}")
        check(dispatcher.malformed == ["this is not JSON"], f"malformed: {dispatcher.malformed}")
        check(
            [(name, type(exc)) for name, exc in dispatcher.failures] == [("send_welcome_email", KeyError)],
            f"failures: {dispatcher.failures}",
        )
        print("every event reached the right handlers")


if __name__ == "__main__":
    run(main, __doc__)
