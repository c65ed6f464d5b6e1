"""The blocking Connection: each public method encodes a request, then reads inline until it is answered.

Callbacks run in the calling thread: log listeners as notices arrive, notification callbacks once the
call's result is in (and in `poll()`), termination listeners at the end of the call that found the
connection lost. Calls from several threads are serialised by one lock; `poll()` waits for the socket
without holding it, so another thread's query is never blocked by a waiting poll.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl as _ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TypeVar

from pgproto import NEED_DATA, Client, ConnectionDoesNotExistError, InterfaceError, Notice, Notification
from pgproto._dsn import Address, ConnectParams
from pgproto._frontend import cancel_request
from pgproto._shared._connection_base import ConnectionBase
from pgproto._shared._dispatch import (
    NotificationSink,
    Router,
    call_safely,
    deliver,
    log_query,
    logger,
    startup_finished,
)
from pgproto._shared._environment import load_connect_params
from pgproto._shared._listeners import Listeners, quote_ident
from pgproto._shared._operations import (
    Session,
    command,
    execute_many,
    fetch,
    fetchrow,
    fetchval,
    listen,
    unlisten,
)
from pgproto._shared._results import Record, Request
from pgproto._shared._transactions import TransactionBlock
from pgproto.errors import ProtocolError

from ._transport import open_socket, send_cancel_request

T = TypeVar("T")
_READ_SIZE = 65536
#: How long a cancelled query may take to acknowledge the CancelRequest before the connection is dropped.
_CANCEL_GRACE = 10.0


class Connection(ConnectionBase):
    """A blocking connection to PostgreSQL. Create it with `connect()`; usable from several threads."""

    def __init__(
        self,
        sock: socket.socket,
        client: Client,
        params: ConnectParams,
        address: Address,
        *,
        max_pending_notifications: int,
        statement_cache_size: int,
    ) -> None:
        self._sock = sock
        self._params = params
        self._address = address
        self._session = Session(client, Listeners(async_channel_callbacks=False), statement_cache_size)
        self._pending: deque[Notification] = deque()
        self._router = Router(self._session.listeners, self._pending.append, self._on_terminated)
        self._lock = threading.RLock()
        self._closed = False
        self._closing_by_user = False
        self._termination_fired = False
        self._termination_reason: Notice | None = None
        self._notices_seen = 0
        self._max_pending_notifications = max_pending_notifications

    # -- queries ---------------------------------------------------------------------------------------

    def execute(self, query: str, *args: object, timeout: float | None = None) -> str:
        """Run a command; its command tag (e.g. "INSERT 0 1").

        With no arguments, `query` may hold several `;`-separated statements (the last one's tag is
        returned); with arguments it is one statement with `$1, $2, ...` parameters.
        """
        return self._run(command(self._session, query, args), query, args, timeout)

    def executemany(self, query: str, args: Iterable[Sequence[object]], *, timeout: float | None = None) -> None:
        """Run `query` once per argument tuple, pipelined in one round trip and one implicit transaction."""
        rows = tuple(tuple(row) for row in args)
        self._run(execute_many(self._session, query, rows), query, rows, timeout)

    def fetch(self, query: str, *args: object, timeout: float | None = None) -> list[Record]:
        """Run a query; all its rows."""
        return self._run(fetch(self._session, query, args), query, args, timeout)

    def fetchrow(self, query: str, *args: object, timeout: float | None = None) -> Record | None:
        """Run a query; its first row, or None."""
        return self._run(fetchrow(self._session, query, args), query, args, timeout)

    def fetchval(self, query: str, *args: object, column: int = 0, timeout: float | None = None) -> object:
        """Run a query; one value of its first row (None if there is no row)."""
        return self._run(fetchval(self._session, query, args, column), query, args, timeout)

    def transaction(
        self, *, isolation: str | None = None, readonly: bool = False, deferrable: bool = False
    ) -> Transaction:
        """A transaction block: `with conn.transaction(): ...` commits, or rolls back on error.

        Nested blocks become savepoints.
        """
        return Transaction(self, isolation, readonly, deferrable)

    # -- listeners ------------------------------------------------------------------------------------

    def add_listener(self, channel: str, callback: Callable[[str, str], object]) -> None:
        """Call `callback(channel, payload)` for each notification on `channel` (LISTEN on the first).

        Raises:
            TypeError: `callback` is an `async def` function (this driver calls callbacks in-thread).
        """
        self._run(listen(self._session, channel, callback), f"LISTEN {quote_ident(channel)}", (), None)

    def remove_listener(self, channel: str, callback: Callable[[str, str], object]) -> None:
        """Stop calling `callback` for `channel` (UNLISTEN after the last); unknown callbacks: no-op."""
        if self._closed:
            self._session.listeners.remove_listener(channel, callback)
            return
        self._run(unlisten(self._session, channel, callback), f"UNLISTEN {quote_ident(channel)}", (), None)

    def poll(self, timeout: float | None = None) -> int:
        """Wait until a server message arrives or `timeout` seconds pass; dispatch what is pending.

        Returns:
            How many notifications and notices were dispatched (0 after a timeout). The poll that
            finds the connection lost fires the termination listeners and returns.

        Raises:
            ConnectionDoesNotExistError: the connection was already closed or lost before this call.
        """
        if self._closed:
            raise ConnectionDoesNotExistError("the connection is closed")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                if self._pending or self._closed:
                    return self._end_call()
                if self._readable(0):
                    notices = self._notices_seen
                    self._read_once(0)
                    count = self._notices_seen - notices + len(self._pending)
                    self._end_call()
                    if count or self._closed:
                        return count
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return 0
            # Wait without the lock: another thread's query may run (and read) meanwhile.
            self._readable(remaining)

    def notifications(self, *channels: str, timeout: float | None = None) -> Iterator[Notification]:
        """Notifications on `channels` as they arrive: LISTENs first, UNLISTENs when the iteration ends.

        Stops after `timeout` seconds without a notification (None: never).

        Raises:
            ConnectionDoesNotExistError: the connection was lost while iterating.
        """
        if not channels:
            raise InterfaceError("notifications() needs at least one channel")
        queue: deque[Notification] = deque()
        sink = NotificationSink(queue.append)
        added: list[str] = []
        try:
            for channel in channels:
                self.add_listener(channel, sink)
                added.append(channel)
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                while queue:
                    yield queue.popleft()
                    deadline = None if timeout is None else time.monotonic() + timeout
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return
                if self._closed:
                    raise ConnectionDoesNotExistError("the connection was lost")
                self.poll(remaining)
        finally:
            for channel in added:
                if self._closed:
                    self._session.listeners.remove_listener(channel, sink)
                else:
                    self.remove_listener(channel, sink)

    # -- closing ------------------------------------------------------------------------------------

    def close(self, *, timeout: float | None = None) -> None:
        """Close gracefully: send Terminate and close the socket. Never raises once the server is gone."""
        if self._closed:
            return
        self._closing_by_user = True
        if self._lock.acquire(timeout=timeout if timeout is not None else _CANCEL_GRACE):
            try:
                if not self._closed:
                    client = self._session.client
                    client.terminate()
                    with contextlib.suppress(OSError):
                        self._sock.sendall(client.data_to_send())
            finally:
                self._lock.release()
        self.terminate()

    def terminate(self) -> None:
        """Close at once, without telling the server; no termination listener fires."""
        self._closing_by_user = True
        self._mark_lost(None)
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked reading it
        self._sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the request path -----------------------------------------------------------------------------

    def _run(
        self, operation: Generator[Request, None, T], query: str, args: tuple[object, ...], timeout: float | None
    ) -> T:
        if self._closed:
            raise ConnectionDoesNotExistError("the connection is closed")
        with self._lock:
            started = time.monotonic()
            deadline = None if timeout is None else started + timeout
            sent = False
            try:
                request = next(operation)
                while True:
                    sent = True
                    self._roundtrip(request, deadline)
                    request = operation.send(None)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]  # the generator's declared return type
            finally:
                if sent:  # only what reached the server is logged
                    log_query(self._session.listeners, query, args, time.monotonic() - started)
                self._end_call()

    def _roundtrip(self, request: Request, deadline: float | None) -> None:
        if self._closed:
            raise ConnectionDoesNotExistError("the connection is closed")
        self._router.requests.append(request)
        try:
            self._sock.sendall(self._session.client.data_to_send())
        except OSError as exc:
            self._mark_lost(None)
            raise ConnectionDoesNotExistError(f"the connection was lost: {exc}") from exc
        try:
            while not request.done:
                if deadline is None:
                    self._read_once(None)
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the query timed out; it was cancelled on the server")
                self._read_once(remaining)
        except (TimeoutError, KeyboardInterrupt):
            self._cancel_on_server(request)
            raise

    def _cancel_on_server(self, request: Request) -> None:
        """The caller gave up on `request`: cancel it on the server and read until the server is in sync."""
        client = self._session.client
        if request.done or self._closed or client.backend_pid is None or client.secret_key is None:
            return
        try:
            send_cancel_request(self._address, cancel_request(client.backend_pid, client.secret_key), _CANCEL_GRACE)
        except OSError:
            logger.warning("could not send a CancelRequest to %s", self._address)
        deadline = time.monotonic() + _CANCEL_GRACE
        while not request.done and not self._closed and time.monotonic() < deadline:
            self._read_once(deadline - time.monotonic())
        if not request.done:
            logger.warning("the server did not answer a cancelled query in time; dropping the connection")
            self.terminate()

    def _readable(self, timeout: float | None) -> bool:
        """True when the socket has bytes to read (or is closed), waiting at most `timeout` seconds."""
        sock = self._sock
        if isinstance(sock, _ssl.SSLSocket) and sock.pending():
            return True
        try:
            ready, _, _ = select.select([sock], [], [], timeout)
        except (OSError, ValueError):  # closed by another thread
            return True
        return bool(ready)

    def _read_once(self, timeout: float | None) -> None:
        """Read what the server sent (waiting at most `timeout`), feed the Client, route every event."""
        if self._closed:
            return
        client = self._session.client
        try:
            self._sock.settimeout(timeout)
            data = self._sock.recv(_READ_SIZE)
        except TimeoutError:
            return
        except OSError:
            data = b""
        try:
            client.receive_data(data)
            while (event := client.next_event()) is not NEED_DATA:
                if type(event) is Notice:
                    self._notices_seen += 1
                self._router.route(event)
        except ProtocolError as exc:
            logger.error("the server broke the protocol; closing the connection: %s", exc)
            self._mark_lost(exc)

    def _end_call(self) -> int:
        """Dispatch pending notifications, then fire termination listeners if the session just ended."""
        count = 0
        listeners = self._session.listeners
        while self._pending:
            notification = self._pending.popleft()
            for callback in listeners.channel_callbacks(notification.channel):
                deliver(callback, notification)
            count += 1
        if self._closed and not self._termination_fired and not self._closing_by_user:
            self._termination_fired = True
            for on_terminated in listeners.termination_listeners:
                call_safely(on_terminated)
        return count

    # -- events from the router ---------------------------------------------------------------------

    def _on_terminated(self, reason: Notice | None) -> None:
        self._termination_reason = reason
        self._mark_lost(reason)

    def _mark_lost(self, reason: object) -> None:
        """The session is over: every waiting call fails; termination listeners fire at the call's end."""
        if self._closed:
            return
        self._closed = True
        self._router.fail_all(ConnectionDoesNotExistError(self._lost_message(reason)))
        with contextlib.suppress(OSError):
            self._sock.close()


class Transaction:
    """`with conn.transaction():` — BEGIN, then COMMIT, or ROLLBACK if the block raises."""

    def __init__(self, conn: Connection, isolation: str | None, readonly: bool, deferrable: bool) -> None:
        self._conn = conn
        self._block = TransactionBlock(conn._session, isolation, readonly, deferrable)

    def start(self) -> None:
        """Start the transaction (or savepoint)."""
        sql = self._block.begin()
        try:
            self._conn.execute(sql)
        except BaseException:
            self._block.end(commit=False)
            raise

    def commit(self) -> None:
        """Commit (or release the savepoint)."""
        self._conn.execute(self._block.end(commit=True))

    def rollback(self) -> None:
        """Roll back (to the savepoint); nothing to do once the connection is gone."""
        sql = self._block.end(commit=False)
        if not self._conn.is_closed():
            self._conn.execute(sql)

    def __enter__(self) -> Transaction:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.commit()
            return
        with contextlib.suppress(ConnectionDoesNotExistError):
            self.rollback()  # the block's own exception is the one to see


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
) -> Connection:
    """Connect to PostgreSQL: `conn = connect(...)`, or `with connect(...) as conn`.

    The arguments are those of `pgproto_anyio.connect`: a libpq URI or key=value `dsn`, completed by
    the keyword arguments, the PG* environment variables and ~/.pgpass.

    Raises:
        PostgresError: the server refused the session (e.g. InvalidPasswordError).
        OSError: no listed address could be reached. TimeoutError: `timeout` passed.
    """
    params = load_connect_params(locals())
    deadline = None if params.connect_timeout is None else time.monotonic() + params.connect_timeout
    errors: list[OSError] = []
    for address in params.addresses:
        try:
            sock = open_socket(params, address, deadline)
        except TimeoutError:
            raise
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
            _startup(sock, client, deadline)
            sock.settimeout(None)
        except BaseException:
            sock.close()
            raise
        return Connection(
            sock,
            client,
            params,
            address,
            max_pending_notifications=max_pending_notifications,
            statement_cache_size=statement_cache_size,
        )
    where = ", ".join(f"{a.host}:{a.port}" for a in params.addresses)
    raise OSError(f"could not connect to PostgreSQL at {where}: {'; '.join(str(e) for e in errors)}")


def _startup(sock: socket.socket, client: Client, deadline: float | None) -> None:
    """Authenticate and wait for the first ReadyForQuery."""
    while True:
        data = client.data_to_send()
        if data:
            sock.sendall(data)
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("timed out connecting to PostgreSQL")
            sock.settimeout(remaining)
        try:
            chunk = sock.recv(_READ_SIZE)
        except ConnectionResetError:
            chunk = b""
        client.receive_data(chunk)
        while (event := client.next_event()) is not NEED_DATA:
            if startup_finished(event):
                return



