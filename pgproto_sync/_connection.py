"""The blocking Connection: each public method encodes a request, then reads inline until it is answered.

Callbacks run in the thread that reads: log listeners as notices arrive, notification callbacks once the
call's result is in (and in `poll()`), termination listeners at the end of the call that found the
connection lost.

Threads: one lock serialises the calls, so a connection may be shared. `poll()` waits for the socket
without the lock, so another thread's queries run meanwhile and are never held up by a waiting poll;
a notification that such a query reads is dispatched by that query's thread, and the poll goes on
waiting. A poll with a timeout waits at most that long for the lock, so a thread running query after
query cannot hold it up past its timeout either. `close()` from another thread ends a waiting poll.
"""

from __future__ import annotations

import contextlib
import socket
import ssl as _ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
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
    log_callback_raise,
    log_query,
    logger,
    startup_finished,
)
from pgproto._shared._environment import load_connect_params
from pgproto._shared._listeners import Listeners, channel_key, quote_ident
from pgproto._shared._operations import (
    Session,
    argument_rows,
    command,
    execute_many,
    fetch,
    fetchrow,
    fetchval,
    finish_prepared,
    first_record,
    listen,
    start_prepared,
    tag_of,
    unlisten,
    value_of,
)
from pgproto._shared._results import Record, Request, SendQueued
from pgproto._shared._transactions import TransactionBlock
from pgproto.errors import ProtocolError

from ._transport import open_socket, send_cancel_request, wait_socket

T = TypeVar("T")
_READ_SIZE = 65536
#: poll()'s read size: its notifications wait in `_pending` until the read is routed, so a smaller read keeps
#: fewer of them alive at once (issue 6: a LISTEN flood, 14.8k -> 14.5k instructions per notification).
_POLL_READ_SIZE = 16384
_WRITE_SIZE = 65536
#: How long a cancelled query may take to acknowledge the CancelRequest before the connection is dropped.
_CANCEL_GRACE = 10.0
#: How often the CancelRequest is sent again while the server has not answered.
_CANCEL_RETRY = 1.0


class Connection(ConnectionBase):
    """A blocking connection to PostgreSQL. Create it with `connect()`.

    Usable from several threads: calls are serialised; see the module's docstring for how `poll()` and
    queries in other threads interact.
    """

    def __init__(
        self,
        sock: socket.socket,
        client: Client,
        params: ConnectParams,
        address: Address,
        *,
        statement_cache_size: int,
    ) -> None:
        self._sock = sock
        #: The recv/send flag for a read or write that must not block, on a socket left in blocking mode so
        #: that a query with no timeout can wait for its answer in recv() itself (issue 6: one poll() less
        #: per query). None where the socket is non-blocking instead: TLS sockets take no flags.
        self._dontwait = _dontwait_flag(sock)
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
        #: Bytes queued for the server and not sent yet.
        self._outgoing = bytearray()
        #: Notifications and notices dispatched so far: poll() returns how many it added.
        self._dispatched = 0
        self._dispatching = False

    # -- queries ---------------------------------------------------------------------------------------

    def execute(self, query: str, *args: object, timeout: float | None = None) -> str:
        """Run a command; its command tag (e.g. "INSERT 0 1").

        With no arguments, `query` may hold several `;`-separated statements (the last one's tag is
        returned); with arguments it is one statement with `$1, $2, ...` parameters.
        """
        request = self._run_prepared(query, args, timeout) if args else None
        if request is None:
            return self._run(command(self._session, query, args), query, args, timeout)
        return tag_of(request)

    def executemany(self, query: str, args: Iterable[Sequence[object]], *, timeout: float | None = None) -> None:
        """Run `query` once per argument tuple, pipelined in one round trip and one implicit transaction."""
        rows = argument_rows(args)
        self._run(execute_many(self._session, query, rows), query, rows, timeout)

    def fetch(self, query: str, *args: object, timeout: float | None = None) -> list[Record]:
        """Run a query; all its rows."""
        request = self._run_prepared(query, args, timeout)
        if request is None:
            return self._run(fetch(self._session, query, args), query, args, timeout)
        return request.records()

    def fetchrow(self, query: str, *args: object, timeout: float | None = None) -> Record | None:
        """Run a query; its first row, or None."""
        request = self._run_prepared(query, args, timeout)
        if request is None:
            return self._run(fetchrow(self._session, query, args), query, args, timeout)
        return first_record(request)

    def fetchval(self, query: str, *args: object, column: int = 0, timeout: float | None = None) -> object:
        """Run a query; one value of its first row (None if there is no row)."""
        request = self._run_prepared(query, args, timeout)
        if request is None:
            return self._run(fetchval(self._session, query, args, column), query, args, timeout)
        return value_of(request, column)

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
        self._drop_undelivered(channel)

    def poll(self, timeout: float | None = None) -> int:
        """Wait until a server message arrives or `timeout` seconds pass; dispatch what is pending.

        Callbacks run in this thread. poll() waits for the socket without holding the connection's
        lock, so other threads' queries go on meanwhile; whichever thread reads a notification runs
        its callbacks, so one that another thread's query read is not counted here.

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
            # A bounded wait for the lock: a thread running query after query must not starve the poll.
            if self._lock.acquire(timeout=-1 if deadline is None else max(0.0, deadline - time.monotonic())):
                try:
                    dispatched = self._dispatched + self._notices_routed
                    if not self._closed and wait_socket(self._sock, write=False, timeout=0)[0]:
                        self._read_available(size=_POLL_READ_SIZE)
                    self._end_call()
                    now = self._dispatched + self._notices_routed
                    if now != dispatched or self._closed:
                        return now - dispatched
                finally:
                    self._lock.release()
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return 0
            wait_socket(self._sock, write=False, timeout=remaining)  # without the lock: queries may run

    def notifications(self, *channels: str, timeout: float | None = None) -> Generator[Notification, None, None]:
        """Notifications on `channels` as they arrive: LISTENs first, UNLISTENs when the iteration ends
        (the loop is left by break or an exception, the timeout passes, or the generator is closed).

        Stops after `timeout` seconds without a notification (None: never). Waits with `poll()`, so the
        connection's other callbacks run meanwhile, in this thread.

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
                    raise ConnectionDoesNotExistError(self._lost_message(None))
                self.poll(remaining)
        finally:
            for channel in added:
                if self._closed:
                    self._session.listeners.remove_listener(channel, sink)
                else:
                    self.remove_listener(channel, sink)

    # -- closing ------------------------------------------------------------------------------------

    def close(self, *, timeout: float | None = None) -> None:
        """Close gracefully: send Terminate and close the socket. Never raises once the server is gone.

        Waits at most `timeout` seconds (default 10) for another thread's call to finish and for the
        Terminate message to be sent.
        """
        if self._closed:
            return
        self._closing_by_user = True
        deadline = time.monotonic() + (_CANCEL_GRACE if timeout is None else timeout)
        if self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            try:
                if not self._closed:
                    self._session.client.terminate()
                    self._outgoing += self._session.client.data_to_send()
                    with contextlib.suppress(OSError, TimeoutError):
                        self._exchange(None, deadline)
            finally:
                self._lock.release()
        self.terminate()

    def terminate(self) -> None:
        """Close at once, without telling the server; no termination listener fires."""
        self._closing_by_user = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes a thread waiting on the socket
        self._closed = True
        # The Router belongs to the thread in a call, if there is one: that thread releases at its end.
        if self._lock.acquire(blocking=False):
            try:
                self._release(None)
            finally:
                self._lock.release()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the request path -----------------------------------------------------------------------------

    def _run(
        self,
        operation: Generator[Request | SendQueued, None, T],
        query: str,
        args: tuple[object, ...],
        timeout: float | None,
    ) -> T:
        if not isinstance(query, str):  # else an AttributeError from deep in the core
            raise InterfaceError(f"a query must be a str, not {type(query).__name__}")
        if self._closed:
            raise ConnectionDoesNotExistError("the connection is closed")
        with self._lock:
            started = time.monotonic()
            deadline = None if timeout is None else started + timeout
            sent = False
            try:
                step = next(operation)
                while True:
                    sent = True
                    if isinstance(step, SendQueued):
                        self._send_queued(step.requests)
                    else:
                        self._roundtrip(step, deadline)
                    step = operation.send(None)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]  # the generator's declared return type
            finally:
                listeners = self._session.listeners
                if sent and listeners.query_loggers:  # only what reached the server is logged
                    log_query(listeners, query, args, time.monotonic() - started)
                if self._pending or self._closed:
                    self._end_call()

    def _run_prepared(self, query: str, args: tuple[object, ...], timeout: float | None) -> Request | None:
        """Run `query` as its cached prepared statement: one round trip, driven without an operation
        generator (issue 6): its answered Request. None when `_run` must run the call instead: with nothing
        sent when no statement is cached for `query` (or it is no str, or the connection is closed: `_run`
        says so); after the server refused the statement as stale (forgotten now), to prepare it anew.
        """
        if type(query) is not str or self._closed:
            return None
        with self._lock:
            started = time.monotonic()
            request = start_prepared(self._session, query, args)
            if request is None:
                return None
            again = False
            try:
                self._roundtrip(request, None if timeout is None else started + timeout)
                again = request.error is not None and finish_prepared(self._session, query, request)
            finally:
                listeners = self._session.listeners
                if listeners.query_loggers and not again:  # `_run` logs the query it runs again
                    log_query(listeners, query, args, time.monotonic() - started)
                if self._pending or self._closed:
                    self._end_call()
            return None if again else request

    def _roundtrip(self, request: Request, deadline: float | None) -> None:
        if self._closed:
            raise ConnectionDoesNotExistError("the connection is closed")
        self._router.add(request)
        self._outgoing += self._session.client.data_to_send()
        try:
            self._exchange(request, deadline)
            if not request.done:  # terminate() in another thread ended the exchange
                self._release(None)
        except TimeoutError:
            self._cancel_on_server(request)
            raise TimeoutError("the query timed out; it was cancelled on the server") from None
        except BaseException:  # KeyboardInterrupt, or an exception from a signal handler
            self._cancel_on_server(request)
            raise

    def _send_queued(self, requests: tuple[Request, ...]) -> None:
        """Send what `requests` queued, as far as the socket takes it without waiting, and read the answers
        already in; the rest goes with the operation's last request (`_roundtrip`)."""
        if self._closed:
            raise ConnectionDoesNotExistError("the connection is closed")
        for request in requests:
            self._router.add(request)
        self._outgoing += self._session.client.data_to_send()
        if self._dontwait is not None:  # else (TLS) every send may block: all of it goes in `_exchange`
            self._send_available()
            self._read_available()

    def _exchange(self, request: Request | None, deadline: float | None) -> None:
        """Send what is queued and read until `request` is answered (None: until all is sent).

        Reads while it writes: a pipelined batch gets answers before it is all sent, and a server
        that cannot send them stops reading, so writing first could block both sides for ever.

        Raises:
            TimeoutError: `deadline` passed first.
        """
        if deadline is None and request is not None and self._dontwait is not None:
            # No timeout to keep: send, and if the socket took every byte, block in recv() until the answer
            # is in. A partial send goes on below, reading while writing.
            self._send_available()
            while not self._outgoing and not self._closed and not request.done:
                self._read_available(block=True)
        while not self._closed and (self._outgoing or (request is not None and not request.done)):
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError("timed out waiting for the server")
            readable, writable = wait_socket(self._sock, write=bool(self._outgoing), timeout=remaining)
            if writable:
                self._send_available()
            if readable:
                self._read_available()

    def _send_available(self) -> None:
        """Send as much of the queued bytes as the socket takes now."""
        try:
            while outgoing := self._outgoing:
                chunk = outgoing if len(outgoing) <= _WRITE_SIZE else outgoing[:_WRITE_SIZE]  # no copy of a query
                del outgoing[: self._sock.send(chunk, self._dontwait or 0)]
        except (BlockingIOError, _ssl.SSLWantWriteError, _ssl.SSLWantReadError):
            return
        except OSError as exc:
            self._mark_lost(exc)

    def _cancel_on_server(self, request: Request) -> None:
        """The caller gave up on `request`: cancel it on the server and read until the server is in sync.

        The CancelRequest is sent again every second: the server ignores one that arrives while it is
        still reading the request (a large one), not yet running it.
        """
        client = self._session.client
        grace_end = time.monotonic() + _CANCEL_GRACE
        while not request.done and not self._closed:
            if client.backend_pid is not None and client.secret_key is not None:
                try:
                    data = cancel_request(client.backend_pid, client.secret_key)
                    send_cancel_request(self._address, data, max(0.0, grace_end - time.monotonic()))
                except OSError:
                    logger.warning("could not send a CancelRequest to %s", self._address)
            try:
                self._exchange(request, min(grace_end, time.monotonic() + _CANCEL_RETRY))
            except TimeoutError:
                if time.monotonic() >= grace_end:
                    logger.warning("the server did not answer a cancelled query in time; dropping the connection")
                    self.terminate()

    def _read_available(self, *, block: bool = False, size: int = _READ_SIZE) -> None:
        """Read what the server sent (without waiting, unless `block`), feed the Client, route every event."""
        if self._closed:
            return
        client = self._session.client
        try:
            data = self._sock.recv(size, 0 if block else self._dontwait or 0)
        except (BlockingIOError, _ssl.SSLWantReadError, _ssl.SSLWantWriteError):
            return  # e.g. half a TLS record: the rest comes with the next read
        except OSError:
            data = b""  # a reset is a lost connection, like an EOF
        try:
            client.receive_data(data)
            self._route_ready()
        except ProtocolError as exc:
            logger.error("the server broke the protocol; closing the connection: %s", exc)
            self._mark_lost(exc)

    def _end_call(self) -> None:
        """Dispatch pending notifications, then fire termination listeners if the session just ended.

        Not re-entered: a callback's own queries leave the notifications they read to this loop, so
        each notification's callbacks finish before the next notification's start.
        """
        if self._dispatching:
            return
        self._dispatching = True
        try:
            listeners = self._session.listeners
            pending, callbacks_by_channel = self._pending, listeners.callbacks_by_channel
            while pending:
                notification = pending.popleft()
                callbacks = callbacks_by_channel.get(notification.channel, ())
                if callbacks:  # a channel whose last callback went gets nothing more (API.md)
                    self._dispatched += 1
                for callback in callbacks:
                    try:  # call_safely's work inline: once per notification and callback (issue 6)
                        if type(callback) is NotificationSink:
                            callback.push(notification)
                        else:
                            callback(notification.channel, notification.payload)
                    except Exception:
                        log_callback_raise(callback)
            if self._closed:
                self._release(None)  # what terminate() in another thread left to this thread
            if self._closed and not self._termination_fired and not self._closing_by_user:
                self._termination_fired = True
                for on_terminated in listeners.termination_listeners:
                    call_safely(on_terminated)
        finally:
            self._dispatching = False

    # -- events from the router ---------------------------------------------------------------------

    def _drop_undelivered(self, channel: str) -> None:
        """The channel lost its last callback: what a callback's nested call queued for it is not
        delivered, not even to a callback added later."""
        key = channel_key(channel)
        if self._session.listeners.channel_callbacks(key):
            return
        for _ in range(len(self._pending)):  # in place: the Router holds this deque's append
            notification = self._pending.popleft()
            if notification.channel != key:
                self._pending.append(notification)

    def _on_terminated(self, reason: Notice | None) -> None:
        self._termination_reason = reason
        self._mark_lost(reason)

    def _mark_lost(self, reason: object) -> None:
        """The session is over: every waiting call fails; termination listeners fire at the call's end."""
        if self._closed:
            return
        self._closed = True
        self._release(reason)

    def _release(self, reason: object) -> None:
        """Fail every request in flight and close the socket; by the thread that holds the lock."""
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
    the keyword arguments, the PG* environment variables and ~/.pgpass. `max_pending_notifications`
    is accepted for the same signature; this driver needs no limit, as it reads only while a call
    waits for its result, and poll() dispatches each read before the next.

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
            # From now on a wait with a deadline is a wait_socket(); a plain socket stays blocking for the
            # waits without one (Connection._exchange), TLS goes non-blocking.
            sock.settimeout(None)
            if _dontwait_flag(sock) is None:
                sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        return Connection(
            sock,
            client,
            params,
            address,
            statement_cache_size=statement_cache_size,
        )
    where = ", ".join(f"{a.host}:{a.port}" for a in params.addresses)
    raise OSError(f"could not connect to PostgreSQL at {where}: {'; '.join(str(e) for e in errors)}")


def _dontwait_flag(sock: socket.socket) -> int | None:
    """MSG_DONTWAIT where the socket takes it (not TLS, not Windows); None: use a non-blocking socket."""
    flag: int | None = getattr(socket, "MSG_DONTWAIT", None)
    return None if isinstance(sock, _ssl.SSLSocket) else flag


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



