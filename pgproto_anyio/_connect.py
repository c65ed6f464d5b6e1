"""`connect()`: resolve the parameters, open the stream, authenticate, and start the connection's reader."""

from __future__ import annotations

import functools
import ssl as _ssl
from collections.abc import Generator, Mapping
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import ByteStream, TaskGroup

from pgproto import NEED_DATA, Client
from pgproto._shared._dispatch import startup_finished
from pgproto._shared._environment import load_connect_params

from . import _reader
from ._connection import Connection
from ._spawn import spawn_background
from ._transport import open_stream


class _Connector:
    """What `connect()` returns: await it, or use it as `async with`."""

    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        self._task_group: TaskGroup | None = None
        self._conn: Connection | None = None

    def __await__(self) -> Generator[Any, None, Connection]:
        return _open(self._options, None).__await__()

    async def __aenter__(self) -> Connection:
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        try:
            self._conn = await _open(self._options, task_group)
        except BaseException as exc:
            await task_group.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        self._task_group = task_group
        return self._conn

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        assert self._conn is not None and self._task_group is not None
        with anyio.CancelScope(shield=True):
            await self._conn.close()
        if isinstance(exc, anyio.get_cancelled_exc_class()):
            return await self._task_group.__aexit__(exc_type, exc, tb)
        # The block's own exception propagates as it is, not wrapped in an ExceptionGroup: the task
        # group only holds the connection's reader, which close() has just stopped.
        await self._task_group.__aexit__(None, None, None)
        return None


def connect(
    dsn: str | None = None,
    *,
    host: str | None = None,
    port: int | str | None = None,
    user: str | None = None,
    password: str | None = None,
    database: str | None = None,
    ssl: bool | str | _ssl.SSLContext | None = None,
    timeout: float | None = 60,
    server_settings: Mapping[str, str] | None = None,
    max_pending_notifications: int = 10_000,
    statement_cache_size: int = 100,
) -> _Connector:
    """Connect to PostgreSQL: `conn = await connect(...)` or `async with connect(...) as conn`.

    Args:
        dsn: a libpq URI (``postgresql://user:pw@host:port/db?sslmode=...``) or ``key=value`` string;
            what it leaves out comes from the PG* environment variables and ~/.pgpass, as in libpq.
        host: a host name, an IP address, or a Unix-socket directory (starting with ``/``).
        ssl: None or an sslmode string (libpq's default, prefer), True (require), False (disable),
            or an ssl.SSLContext.
        timeout: seconds to establish the connection, authentication included.
        server_settings: session parameters sent at startup (application_name, search_path, ...).
        max_pending_notifications: received notifications waiting for their callbacks above which
            the connection stops reading from the server (backpressure), unless a query waits.
        statement_cache_size: prepared statements kept per connection (0 disables the cache).

    Raises:
        PostgresError: the server refused the session (e.g. InvalidPasswordError).
        OSError: no listed address could be reached. TimeoutError: `timeout` passed.
    """
    return _Connector(dict(locals()))


async def _open(options: dict[str, Any], task_group: TaskGroup | None) -> Connection:
    params = load_connect_params(options)
    errors: list[OSError] = []
    with anyio.fail_after(params.connect_timeout):
        for address in params.addresses:
            try:
                stream = await open_stream(params, address)
            except OSError as exc:
                errors.append(exc)
                continue
            try:
                client = Client(
                    user=params.user,
                    database=params.database,
                    password=params.password_for(address),
                    params=params.server_settings,
                )
                await _startup(stream, client)
            except BaseException:
                await anyio.aclose_forcefully(stream)
                raise
            conn = Connection(
                stream,
                client,
                params,
                address,
                max_pending_notifications=options["max_pending_notifications"],
                statement_cache_size=options["statement_cache_size"],
            )
            started = anyio.Event()
            if task_group is not None:
                task_group.start_soon(_reader.run, conn, started)
            else:
                spawn_background(functools.partial(_reader.run, conn, started))
            await started.wait()
            return conn
    where = ", ".join(f"{a.host}:{a.port}" for a in params.addresses)
    raise OSError(f"could not connect to PostgreSQL at {where}: {'; '.join(str(e) for e in errors)}")


async def _startup(stream: ByteStream, client: Client) -> None:
    """Authenticate and wait for the first ReadyForQuery."""
    while True:
        data = client.data_to_send()
        if data:
            await stream.send(data)
        try:
            chunk = await stream.receive(65536)
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            chunk = b""
        client.receive_data(chunk)
        while (event := client.next_event()) is not NEED_DATA:
            if startup_finished(event):
                return
