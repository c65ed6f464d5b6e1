"""`python -m bench.parser`: the core alone, bytes in memory -> events, no server and no network.

Scenarios: `rows` (a DataRow-heavy result of the fetch workload's 7 columns), `notify` (a flood of
NotificationResponse), `notices` (a flood of NoticeResponse, as RAISE NOTICE sends them), `rtt` (one
prepared query's request encoded and its four-message answer parsed, per item) and `executemany` (10,000
Bind/Execute pairs encoded, their answers parsed). Input arrives in 64 KiB chunks, as a socket read would
give it. `--profile NAME` prints the cProfile of one scenario.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import pstats
import struct
import time
from collections.abc import Callable, Sequence
from decimal import Decimal

from pgproto import NEED_DATA, Client
from pgproto._types import BINARY_FORMAT, encoder, result_format, text_encode
from pgproto._types import oids as o

_CHUNK = 65536


def _msg(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def _cstr(text: str) -> bytes:
    return text.encode() + b"\0"


def _chunks(data: bytes) -> list[bytes]:
    return [data[i : i + _CHUNK] for i in range(0, len(data), _CHUNK)]


def _ready_client() -> Client:
    client = Client(user="bench", clock=lambda: 0.0)
    client.data_to_send()
    client.receive_data(_msg(b"R", struct.pack("!i", 0)) + _msg(b"K", b"\0\0\0\1\0\0\0\2") + _msg(b"Z", b"I"))
    while client.next_event() is not NEED_DATA:
        pass
    return client


def _prepared(client: Client, name: str, params: Sequence[int], columns: Sequence[tuple[str, int]]) -> None:
    """Prepare statement `name` on `client`, answering for the server."""
    client.prepare(name, "SELECT ...")
    client.data_to_send()
    description = struct.pack("!h", len(columns)) + b"".join(
        _cstr(col) + struct.pack("!IhIhih", 0, 0, oid, -1, -1, 0) for col, oid in columns
    )
    client.receive_data(
        _msg(b"1", b"")
        + _msg(b"t", struct.pack("!H", len(params)) + b"".join(struct.pack("!I", p) for p in params))
        + (_msg(b"T", description) if columns else _msg(b"n", b""))
        + _msg(b"Z", b"I")
    )
    while client.next_event() is not NEED_DATA:
        pass


_FETCH_COLUMNS = [
    ("a", o.INT4), ("b", o.INT8), ("c", o.TEXT), ("d", o.FLOAT8), ("e", o.BOOL), ("f", o.TIMESTAMPTZ),
    ("h", o.NUMERIC),
]  # fmt: skip


def _value(oid: int, value: object) -> bytes:
    if result_format(oid) == BINARY_FORMAT:
        return encoder(oid)[1](value)
    return text_encode(value)


def _fetch_row(i: int) -> bytes:
    values = (
        i,
        i * 1000003,
        f"{i:020x}",
        i / 7.0,
        i % 2 == 0,
        datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=i),
        Decimal(i * 137) / 100,
    )
    body = struct.pack("!h", len(values))
    for (_, oid), value in zip(_FETCH_COLUMNS, values):
        encoded = _value(oid, value)
        body += struct.pack("!i", len(encoded)) + encoded
    return _msg(b"D", body)


def _drain(client: Client) -> int:
    count = 0
    while client.next_event() is not NEED_DATA:
        count += 1
    return count


def rows_scenario(n: int) -> Callable[[], None]:
    client = _ready_client()
    _prepared(client, "s", [o.INT8], _FETCH_COLUMNS)
    answer = _chunks(
        _msg(b"2", b"")
        + b"".join(_fetch_row(i) for i in range(n))
        + _msg(b"C", _cstr(f"SELECT {n}"))
        + _msg(b"Z", b"I")
    )

    def run() -> None:
        client.execute_prepared("s", [n])
        client.data_to_send()
        for chunk in answer:
            client.receive_data(chunk)
            _drain(client)

    return run


def notify_scenario(n: int) -> Callable[[], None]:
    client = _ready_client()
    flood = _chunks(
        b"".join(_msg(b"A", struct.pack("!i", 4242) + _cstr("bench_channel") + _cstr(str(i))) for i in range(n))
    )

    def run() -> None:
        for chunk in flood:
            client.receive_data(chunk)
            _drain(client)

    return run


def notices_scenario(n: int) -> Callable[[], None]:
    client = _ready_client()

    def notice(i: int) -> bytes:
        fields = [
            b"SNOTICE", b"VNOTICE", b"C00000", f"Mnotice {i}".encode(),
            b"WPL/pgSQL function inline_code_block line 1 at RAISE", b"Fpl_exec.c", b"L3911", b"Rexec_stmt_raise",
        ]  # fmt: skip
        return _msg(b"N", b"".join(f + b"\0" for f in fields) + b"\0")

    flood = _chunks(b"".join(notice(i) for i in range(n)))

    def run() -> None:
        for chunk in flood:
            client.receive_data(chunk)
            _drain(client)

    return run


def rtt_scenario(n: int) -> Callable[[], None]:
    client = _ready_client()
    _prepared(client, "s", [o.INT4], [("int4", o.INT4)])
    answer = _msg(b"2", b"") + _fetch_one() + _msg(b"C", _cstr("SELECT 1")) + _msg(b"Z", b"I")

    def run() -> None:
        for i in range(n):
            client.execute_prepared("s", (i,))
            client.data_to_send()
            client.receive_data(answer)
            _drain(client)

    return run


def executemany_scenario(n: int) -> Callable[[], None]:
    client = _ready_client()
    _prepared(client, "s", [o.INT4, o.TEXT], [])
    rows = [(i, f"row number {i:010d}") for i in range(n)]
    answer = _chunks((_msg(b"2", b"") + _msg(b"C", _cstr("INSERT 0 1"))) * n + _msg(b"Z", b"I"))

    def run() -> None:
        client.execute_prepared_many("s", rows)
        client.data_to_send()
        for chunk in answer:
            client.receive_data(chunk)
            _drain(client)

    return run


def _fetch_one() -> bytes:
    value = _value(o.INT4, 1)
    return _msg(b"D", struct.pack("!hi", 1, len(value)) + value)


#: name -> (build the scenario for n items, default n, what an item is)
SCENARIOS: dict[str, tuple[Callable[[int], Callable[[], None]], int, str]] = {
    "rows": (rows_scenario, 100_000, "row"),
    "notify": (notify_scenario, 50_000, "notification"),
    "notices": (notices_scenario, 10_000, "notice"),
    "rtt": (rtt_scenario, 5_000, "query"),
    "executemany": (executemany_scenario, 10_000, "row"),
}


def measure(name: str, repeat: int, n: int | None = None) -> tuple[float, int]:
    """Best of `repeat` runs: CPU seconds per item (so other load on the machine matters less), and the
    item count."""
    build, default, _ = SCENARIOS[name]
    items = n or default
    run = build(items)
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best / items, items


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.parser", description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--items", type=int, default=None)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--profile", choices=list(SCENARIOS), default=None)
    args = parser.parse_args(argv)
    if args.profile:
        build, default, _ = SCENARIOS[args.profile]
        run = build(args.items or default)
        profiler = cProfile.Profile()
        profiler.runcall(run)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return
    print(f"{'scenario':<10}{'items':>10}{'ns/item':>12}{'items/s':>14}")
    for name in args.scenarios.split(","):
        per_item, items = measure(name, args.repeat, args.items)
        print(f"{name:<10}{items:>10}{per_item * 1e9:>12.0f}{1 / per_item:>14,.0f}")


if __name__ == "__main__":
    main()
