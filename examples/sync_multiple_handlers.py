"""Several handlers on one channel, and one handler on several channels, blocking version.

    python -m examples.sync_multiple_handlers [DSN]

`add_listener` LISTENs on the first handler of a channel; later handlers share that LISTEN. Handlers are
plain functions, called in the thread that reads the connection: during any query, and in
``conn.poll(timeout)``, which waits for the server and returns how many notifications it dispatched.
For each notification the handlers of its channel run one after another, in the order they were added.
"""

from __future__ import annotations

import pgproto_sync

from ._runner import check
from .multiple_handlers import ALERT_CHANNELS, STOCK
from .sync_runner import poll_until, run


def main(dsn: str | None) -> None:
    calls: list[str] = []  # "handler:payload", in the order the handlers ran
    alerts: list[str] = []

    def audit(channel: str, payload: str) -> None:
        calls.append(f"audit:{payload}")

    def refresh_cache(channel: str, payload: str) -> None:
        calls.append(f"cache:{payload}")

    def update_metrics(channel: str, payload: str) -> None:
        calls.append(f"metrics:{payload}")

    def on_alert(channel: str, payload: str) -> None:
        alerts.append(channel)
        print(f"alert on {channel}: {payload}")

    with pgproto_sync.connect(dsn) as conn, pgproto_sync.connect(dsn) as sender:
        for stock_handler in (audit, refresh_cache, update_metrics):
            conn.add_listener(STOCK, stock_handler)
        for channel in ALERT_CHANNELS:
            conn.add_listener(channel, on_alert)

        sender.execute(f"NOTIFY {STOCK}, 'item 1'; NOTIFY {STOCK}, 'item 2'")
        for channel in ALERT_CHANNELS:
            sender.execute("SELECT pg_notify($1, $2)", channel, f"{channel.rsplit('_', 1)[1]} above 90%")
        poll_until(conn, lambda: len(calls) == 6 and len(alerts) == 3, 5, "the notifications")
        expected = [f"{h}:item {n}" for n in (1, 2) for h in ("audit", "cache", "metrics")]
        check(calls == expected, f"stock handlers ran as {calls}, expected {expected}")
        check(alerts == list(ALERT_CHANNELS), f"alerts came as {alerts}")
        print("stock handlers ran in the order they were added; one alert handler served three channels")

        conn.remove_listener(STOCK, refresh_cache)
        calls.clear()
        sender.execute(f"NOTIFY {STOCK}, 'item 3'")
        poll_until(conn, lambda: len(calls) == 2, 5, "the notification after removing a handler")
        check(calls == ["audit:item 3", "metrics:item 3"], f"after removing refresh_cache: {calls}")

        for stock_handler in (audit, update_metrics):
            conn.remove_listener(STOCK, stock_handler)
        for channel in ALERT_CHANNELS:
            conn.remove_listener(channel, on_alert)
        left = conn.fetchval("SELECT count(*) FROM pg_listening_channels()")
        check(left == 0, f"still listening on {left} channels after removing every handler")
        print("removed every handler: listening on no channel")


if __name__ == "__main__":
    run(main, __doc__)
