"""Several handlers on one channel, and one handler on several channels.

    python -m examples.multiple_handlers [DSN] [--trio]

`add_listener` LISTENs on the first handler of a channel; later handlers share that LISTEN. For each
notification the handlers of its channel run one after another, in the order they were added (an
``async def`` handler is awaited before the next starts). `remove_listener` UNLISTENs when the last
handler of a channel goes.
"""

from __future__ import annotations

import anyio

import pgproto_anyio

from ._runner import check, deadline, run

STOCK = "multiple_handlers_stock"
ALERT_CHANNELS = ("multiple_handlers_disk", "multiple_handlers_cpu", "multiple_handlers_memory")


async def main(dsn: str | None) -> None:
    calls: list[str] = []  # "handler:payload", in the order the handlers ran
    done = anyio.Event()

    def record(handler: str, payload: str) -> None:
        calls.append(f"{handler}:{payload}")
        print(f"  {handler} handled {payload!r}")

    # Three handlers for the stock channel: a sync one, a slow async one, and a sync one again.
    def audit(channel: str, payload: str) -> None:
        record("audit", payload)

    async def refresh_cache(channel: str, payload: str) -> None:
        await anyio.sleep(0.05)  # slow on purpose: the next handler still waits for it
        record("cache", payload)

    def update_metrics(channel: str, payload: str) -> None:
        record("metrics", payload)

    # One handler for three alert channels: the channel argument tells them apart.
    alerts: list[str] = []

    def on_alert(channel: str, payload: str) -> None:
        alerts.append(channel)
        print(f"alert on {channel}: {payload}")
        if len(alerts) == len(ALERT_CHANNELS):
            done.set()

    async with pgproto_anyio.connect(dsn) as conn:
        for handler in (audit, refresh_cache, update_metrics):
            await conn.add_listener(STOCK, handler)
        for channel in ALERT_CHANNELS:
            await conn.add_listener(channel, on_alert)
        listening = await conn.fetchval("SELECT array_agg(c ORDER BY c) FROM pg_listening_channels() c")
        print(f"listening on {listening}")

        print(f"notifying {STOCK} twice, then each alert channel once")
        await conn.execute(f"NOTIFY {STOCK}, 'item 1'; NOTIFY {STOCK}, 'item 2'")
        for channel in ALERT_CHANNELS:
            await conn.execute("SELECT pg_notify($1, $2)", channel, f"{channel.rsplit('_', 1)[1]} above 90%")
        with deadline(5, "the notifications"):
            await done.wait()
            while len(calls) < 6:
                await anyio.sleep(0.01)

        expected = [f"{h}:item {n}" for n in (1, 2) for h in ("audit", "cache", "metrics")]
        check(calls == expected, f"stock handlers ran as {calls}, expected {expected}")
        print("stock handlers ran in the order they were added, for each notification")
        check(sorted(alerts) == sorted(ALERT_CHANNELS), f"alerts came from {alerts}")
        print(f"one alert handler served {len(ALERT_CHANNELS)} channels")

        # Removing a handler: the channel stays LISTENed while others remain.
        await conn.remove_listener(STOCK, refresh_cache)
        calls.clear()
        await conn.execute(f"NOTIFY {STOCK}, 'item 3'")
        with deadline(5, "the notification after removing a handler"):
            while len(calls) < 2:
                await anyio.sleep(0.01)
        check(calls == ["audit:item 3", "metrics:item 3"], f"after removing refresh_cache: {calls}")
        print("after removing refresh_cache: audit and metrics only")

        for handler in (audit, update_metrics):
            await conn.remove_listener(STOCK, handler)
        for channel in ALERT_CHANNELS:
            await conn.remove_listener(channel, on_alert)
        left = await conn.fetchval("SELECT count(*) FROM pg_listening_channels()")
        check(left == 0, f"still listening on {left} channels after removing every handler")
        print("removed every handler: listening on no channel")


if __name__ == "__main__":
    run(main, __doc__)
