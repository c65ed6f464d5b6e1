"""`python -m bench.floor`: how much of a `SELECT 1` round trip is left to optimise, layer by layer.

Each mode runs N sequential `SELECT 1` (prepared, Bind/Execute/Sync) on one connection, interleaved
with the others in every repetition, and reports the median wall and CPU time (this process's) per query:

- `socket`: the request's bytes, encoded once, sent on the bare socket; read until ReadyForQuery,
  parsing nothing: the floor for any pure-Python blocking client (the syscalls and the server).
- `core`: the same socket, with pgproto's Client encoding each request and parsing each answer.
- `pgproto_sync`: `conn.fetchval("SELECT 1")`, the whole blocking driver.
- `asyncio-socket`, `asyncio-core`, `pgproto_anyio`: the same three on asyncio, through an
  asyncio.Protocol (the shape the anyio driver has on asyncio), and asyncpg's fetchval for reference.
- `trio-socket`, `pgproto_anyio-trio`: the bare request on a trio socket, and the anyio driver on trio
  (a trio run of its own per repetition; only the queries are timed).
- `pg8000`: pg8000's `run("SELECT 1")`, the blocking peer, for reference (when it is installed).

The gap between `core` and `socket` is the protocol core's share; between the driver and `core`, the
driver's. Run it on a quiet machine: `python -m bench.floor [--dsn DSN] [--queries 3000] [--repeat 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pgproto import NEED_DATA, Client
from pgproto.events import ReadyForQuery

if TYPE_CHECKING:
    import pgproto_sync

_SQL = "SELECT 1"


def _sync_modes(dsn: str, n: int) -> dict[str, Callable[[], None]]:
    import pgproto_sync

    conn = pgproto_sync.connect(dsn)
    assert conn.fetchval(_SQL) == 1
    # The driver's own socket and Client, after startup and with the statement prepared: only for
    # measuring, never mixed with driver calls in flight.
    sock = conn._sock
    client: Client = conn._session.client
    name = conn._session.statements.get(_SQL).name  # type: ignore[union-attr]  # prepared just above
    client.execute_prepared(name)
    request = client.data_to_send()
    _read_until_ready(sock.recv, sock.send, request)
    while client.next_event() is not NEED_DATA:  # the Client saw the request: let it see the answer
        pass

    def bare() -> None:
        for _ in range(n):
            _read_until_ready(sock.recv, sock.send, request)

    def core() -> None:
        for _ in range(n):
            client.execute_prepared(name)
            sock.sendall(client.data_to_send())
            while True:
                client.receive_data(sock.recv(65536))
                if _answered(client):
                    break

    def driver() -> None:
        for _ in range(n):
            conn.fetchval(_SQL)

    modes: dict[str, Callable[[], None]] = {"socket": bare, "core": core, "pgproto_sync": driver}
    try:
        from .drivers import _pg8000_connect

        peer_conn = _pg8000_connect(dsn)
    except ImportError:
        return modes
    run = peer_conn.run  # type: ignore[attr-defined]  # a pg8000.native.Connection
    assert run(_SQL) == [[1]]

    def peer() -> None:
        for _ in range(n):
            run(_SQL)

    modes["pg8000"] = peer
    return modes


def _bare_session(dsn: str) -> tuple[pgproto_sync.Connection, bytes]:
    """For the bare modes: a session opened by the blocking driver, and the prepared `SELECT 1`'s request bytes
    encoded once by its Client (which is not used again)."""
    import pgproto_sync

    conn = pgproto_sync.connect(dsn)
    assert conn.fetchval(_SQL) == 1
    client: Client = conn._session.client
    client.execute_prepared(conn._session.statements.get(_SQL).name)  # type: ignore[union-attr]
    return conn, client.data_to_send()


def _read_until_ready(recv: Callable[[int], bytes], send: Callable[[bytes], int], request: bytes) -> None:
    send(request)
    data = b""
    while not (len(data) >= 6 and data[-6] == 0x5A):  # ReadyForQuery is the answer's last message
        data += recv(65536)


def _answered(client: Client) -> bool:
    done = False
    while (event := client.next_event()) is not NEED_DATA:
        done = done or type(event) is ReadyForQuery
    return done


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.consume: Callable[[bytes], None] = lambda data: None

    def data_received(self, data: bytes) -> None:
        self.consume(data)


async def _asyncio_modes(dsn: str, n: int) -> dict[str, Callable[[], object]]:
    import pgproto_anyio

    loop = asyncio.get_running_loop()
    # The bare mode: the session's socket handed to asyncio.
    sync_conn, request = _bare_session(dsn)
    sock = sync_conn._sock
    sock.setblocking(False)
    transport, protocol = await loop.create_connection(_Protocol, sock=sock)
    waiter: list[asyncio.Future[None]] = []

    def bare_consume(data: bytes) -> None:
        if len(data) >= 6 and data[-6] == 0x5A:
            waiter[0].set_result(None)

    async def bare() -> None:
        protocol.consume = bare_consume
        for _ in range(n):
            waiter[:] = [loop.create_future()]
            transport.write(request)
            await waiter[0]

    conn = await pgproto_anyio.connect(dsn)
    assert await conn.fetchval(_SQL) == 1
    core_client: Client = conn._session.client
    core_name = conn._session.statements.get(_SQL).name  # type: ignore[union-attr]  # prepared just above
    stream = conn._pushed
    assert stream is not None, "the anyio driver's asyncio stream (no TLS)"
    driver_consume = stream._protocol.consumer
    assert driver_consume is not None, "the stream pushes to the driver"

    def core_consume(data: bytes) -> None:
        core_client.receive_data(data)
        if _answered(core_client):
            waiter[0].set_result(None)

    async def core() -> None:
        stream.push_to(core_consume)
        try:
            for _ in range(n):
                waiter[:] = [loop.create_future()]
                core_client.execute_prepared(core_name)
                stream.write(core_client.data_to_send())
                await waiter[0]
        finally:
            stream.push_to(driver_consume)

    async def driver() -> None:
        for _ in range(n):
            await conn.fetchval(_SQL)

    modes: dict[str, Callable[[], object]] = {"asyncio-socket": bare, "asyncio-core": core, "pgproto_anyio": driver}
    try:
        import asyncpg

        apg = await asyncpg.connect(dsn)
        await apg.fetchval(_SQL)

        async def peer() -> None:
            for _ in range(n):
                await apg.fetchval(_SQL)

        modes["asyncpg"] = peer
    except ImportError:
        pass
    return modes


def _trio_modes(dsn: str, n: int) -> dict[str, Callable[[], tuple[float, float]]]:
    """The trio modes: each call is one trio run that connects, warms up, and times `n` queries."""
    try:
        import trio
    except ImportError:
        return {}
    import pgproto_anyio

    def bare() -> tuple[float, float]:
        sync_conn, request = _bare_session(dsn)

        async def queries() -> tuple[float, float]:
            sock = trio.socket.from_stdlib_socket(sync_conn._sock)

            async def run() -> None:
                for _ in range(n):
                    await sock.send(request)
                    data = b""
                    while not (len(data) >= 6 and data[-6] == 0x5A):
                        data += await sock.recv(65536)

            return await _timed_async(run)

        try:
            return trio.run(queries)
        finally:
            sync_conn._sock.setblocking(True)
            sync_conn.close()

    def driver() -> tuple[float, float]:
        async def queries() -> tuple[float, float]:
            async with await pgproto_anyio.connect(dsn) as conn:
                assert await conn.fetchval(_SQL) == 1

                async def run() -> None:
                    for _ in range(n):
                        await conn.fetchval(_SQL)

                return await _timed_async(run)

        return trio.run(queries)

    return {"trio-socket": bare, "pgproto_anyio-trio": driver}


def _timed(run: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


async def _timed_async(run: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    await run()  # type: ignore[misc]  # the async modes return coroutines
    return time.perf_counter() - wall, time.process_time() - cpu


def _trio_repetition(
    modes: dict[str, Callable[[], tuple[float, float]]], results: dict[str, list[tuple[float, float]]]
) -> None:
    for name, run in modes.items():
        results.setdefault(name, []).append(run())


def main(argv: Sequence[str] | None = None) -> dict[str, list[tuple[float, float]]]:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--dsn", default=None, help="use this server instead of starting a throwaway one")
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    from .suite import _server

    results: dict[str, list[tuple[float, float]]] = {}
    with _server(args.dsn, 15) as dsn:
        sync_modes = _sync_modes(dsn, args.queries)
        trio_modes = _trio_modes(dsn, args.queries)

        async def run_async() -> None:
            async_modes = await _asyncio_modes(dsn, args.queries)
            for _ in range(args.repeat):
                for name, run in sync_modes.items():
                    results.setdefault(name, []).append(_timed(run))
                for name, arun in async_modes.items():
                    results.setdefault(name, []).append(await _timed_async(arun))
                await asyncio.to_thread(_trio_repetition, trio_modes, results)  # trio runs on a loop of its own

        asyncio.run(run_async())
    heading = f"{'mode':<16} {'wall µs/query':>14} {'CPU µs/query':>13}"
    print(f"{heading}   (median of {args.repeat} runs of {args.queries} queries)")
    for name, samples in results.items():
        wall = statistics.median(w for w, _ in samples) / args.queries * 1e6
        cpu = statistics.median(c for _, c in samples) / args.queries * 1e6
        print(f"{name:<16} {wall:>14.1f} {cpu:>13.1f}")
    return results


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
