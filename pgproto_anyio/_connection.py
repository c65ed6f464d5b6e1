"""The anyio Connection: each public method encodes a request, sends it, and awaits its result: read by the
calling task itself when no other read is in progress, else routed to it by the reader task.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable, Generator, Iterable, Sequence
from typing import Any, Final, Protocol, TypeVar

import anyio
from anyio.abc import ByteStream, SocketAttribute, TaskGroup
from anyio.streams.tls import TLSAttribute

from pgproto import Client, ConnectionDoesNotExistError, InterfaceError, Notice, Notification, PostgresError
from pgproto._dsn import Address, ConnectParams
from pgproto._frontend import cancel_request
from pgproto._shared._connection_base import ConnectionBase
from pgproto._shared._dispatch import NotificationSink, Router, call_safely, log_query, logger
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
    simple_query,
    start_prepared,
    tag_of,
    unlisten,
    value_of,
)
from pgproto._shared._results import Record, Request, SendQueued

from . import _parking, _reader
from ._asyncio_stream import AsyncioStream
from ._iterator import Inbox, NotificationIterator
from ._lock import Lock
from ._spawn import running_trio
from ._transaction import Transaction
from ._transport import send_cancel_request

T = TypeVar("T")
#: What a failed send raises: the connection is lost.
_SEND_ERRORS: Final = (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError)
#: How long a cancelled query may take to acknowledge the CancelRequest before the connection is dropped.
_CANCEL_GRACE = 10.0


class Connection(ConnectionBase):
    """A connection to PostgreSQL. Create it with `connect()`."""

    def __init__(
        self,
        stream: ByteStream,
        client: Client,
        params: ConnectParams,
        address: Address,
        *,
        max_pending_notifications: int,
        statement_cache_size: int,
    ) -> None:
        self._stream = stream
        #: On asyncio without TLS: the stream that feeds the Client from `data_received` (`_reader._push_loop`).
        self._pushed = stream if isinstance(stream, AsyncioStream) else None
        #: The socket under a plain (not TLS) stream, written directly by `_send` when it takes all bytes.
        self._raw_socket = _plain_raw_socket(stream) if self._pushed is None else None
        self._params = params
        self._address = address
        self._session = Session(client, Listeners(async_channel_callbacks=True), statement_cache_size)
        self._router = Router(self._session.listeners, self._on_notification, self._on_terminated)
        self._checkpoint_if_cancelled = _backend_checkpoint_if_cancelled()
        # Not anyio.Lock: uncontended it yields to the event loop once per query (issue 6: 17 us of CPU per
        # acquire on asyncio here, 4 us with fast_acquire), and even fast_acquire costs calls per query (_lock.py).
        self._lock = Lock(self._checkpoint_if_cancelled)
        self._closed = False
        self._closing_by_user = False
        self._termination_reason: Notice | None = None
        self._task_group: TaskGroup | None = None
        self._dispatchers: dict[str, deque[Notification]] = {}
        self._pending_notifications = 0
        self._max_pending_notifications = max_pending_notifications
        #: Where the reader task waits while it must not read; woken when it may read again.
        self._parked_reader = _parking.for_running_backend()
        #: The reader task is inside `stream.receive()`: a caller waits for it to route the answer.
        self._reader_receiving = False
        #: A caller reads its own answer (`_read_answer`): the reader task stays parked meanwhile.
        self._caller_reading = False
        #: The reader task just completed a request: it parks until that request's caller has resumed, so
        #: that the caller's next request (sent in the same step) finds no reader inside receive().
        self._handoff = False
        #: The inboxes of running notifications() iterators, filled by the reader.
        self._inboxes: dict[NotificationSink, Inbox] = {}
        #: Channels whose last callback went where no UNLISTEN could be awaited; sent before the next request.
        self._unlisten_due: set[str] = set()
        self._flush_scheduled = False
        #: The future `_send_pushed` made for the request being awaited (one at a time: the lock), and the
        #: bound method that completes it, made once (issue 6: a closure per query cost 1.2k instructions).
        self._answered: asyncio.Future[None] | None = None
        self._settle = self._settle_answered

    # -- queries ---------------------------------------------------------------------------------------

    async def execute(self, query: str, *args: object, timeout: float | None = None) -> str:
        """Run a command; its command tag (e.g. "INSERT 0 1").

        With no arguments, `query` may hold several `;`-separated statements (the last one's tag is
        returned); with arguments it is one statement with `$1, $2, ...` parameters.
        """
        request = await self._run_prepared(query, args, timeout) if args else None
        if request is None:
            return await self._run(command(self._session, query, args), query, args, timeout)
        return tag_of(request)

    async def executemany(
        self, query: str, args: Iterable[Sequence[object]], *, timeout: float | None = None
    ) -> None:
        """Run `query` once per argument tuple, pipelined in one round trip and one implicit transaction."""
        rows = argument_rows(args)
        await self._run(execute_many(self._session, query, rows), query, rows, timeout)

    async def fetch(self, query: str, *args: object, timeout: float | None = None) -> list[Record]:
        """Run a query; all its rows."""
        request = await self._run_prepared(query, args, timeout)
        if request is None:
            return await self._run(fetch(self._session, query, args), query, args, timeout)
        return request.records()

    async def fetchrow(self, query: str, *args: object, timeout: float | None = None) -> Record | None:
        """Run a query; its first row, or None."""
        request = await self._run_prepared(query, args, timeout)
        if request is None:
            return await self._run(fetchrow(self._session, query, args), query, args, timeout)
        return first_record(request)

    async def fetchval(self, query: str, *args: object, column: int = 0, timeout: float | None = None) -> object:
        """Run a query; one value of its first row (None if there is no row)."""
        request = await self._run_prepared(query, args, timeout)
        if request is None:
            return await self._run(fetchval(self._session, query, args, column), query, args, timeout)
        return value_of(request, column)

    def transaction(
        self, *, isolation: str | None = None, readonly: bool = False, deferrable: bool = False
    ) -> Transaction:
        """A transaction block: `async with conn.transaction(): ...` commits, or rolls back on error.

        Nested blocks become savepoints.
        """
        return Transaction(self, isolation, readonly, deferrable)

    # -- listeners ------------------------------------------------------------------------------------

    async def add_listener(self, channel: str, callback: Callable[[str, str], Any]) -> None:
        """Call `callback(channel, payload)` for each notification on `channel` (LISTEN on the first)."""
        sent: list[bool] = []
        try:
            await self._run(
                listen(self._session, channel, callback),
                f"LISTEN {quote_ident(channel)}",
                (),
                None,
                sent,
                via_reader=True,
            )
        except PostgresError:
            raise  # the server refused the LISTEN
        except BaseException:
            if sent:  # cancelled or failed with the LISTEN on its way: the server may listen for nobody
                self._unlisten_if_unused(channel)
            raise

    async def remove_listener(self, channel: str, callback: Callable[[str, str], Any]) -> None:
        """Stop calling `callback` for `channel` (UNLISTEN after the last); unknown callbacks: no-op."""
        if self._closed:
            self._session.listeners.remove_listener(channel, callback)
            return
        sent: list[bool] = []
        try:
            await self._run(
                unlisten(self._session, channel, callback),
                f"UNLISTEN {quote_ident(channel)}",
                (),
                None,
                sent,
                via_reader=True,
            )
        except BaseException:
            if sent:  # cancelled with the UNLISTEN on its way: it may not have run
                self._unlisten_if_unused(channel)
            raise
        finally:
            self._drop_undelivered(channel)

    def notifications(self, *channels: str) -> NotificationIterator:
        """Notifications on `channels` as they arrive, for `async for`; LISTENs first, UNLISTENs at the end.

        The iteration ends (and UNLISTENs) on `break`, cancellation or an error in the loop body;
        `aclose()` ends it explicitly.

        Raises:
            ConnectionDoesNotExistError: the connection was lost while iterating.
        """
        return NotificationIterator(self, channels)

    # -- closing ------------------------------------------------------------------------------------

    async def close(self, *, timeout: float | None = None) -> None:
        """Close gracefully: send Terminate and close the socket. Never raises once the server is gone."""
        if self._closed:
            return
        self._closing_by_user = True
        with anyio.move_on_after(timeout if timeout is not None else _CANCEL_GRACE):
            async with self._lock:
                if not self._closed:
                    client = self._session.client
                    client.terminate()
                    with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                        await self._send(client.data_to_send())
        self.terminate()

    def terminate(self) -> None:
        """Close at once, without telling the server; no termination listener fires."""
        self._closing_by_user = True
        self._mark_lost(None)
        if self._task_group is not None:
            self._task_group.cancel_scope.cancel()

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the request path -----------------------------------------------------------------------------

    async def _run(
        self,
        operation: Generator[Request | SendQueued, None, T],
        query: str,
        args: tuple[object, ...],
        timeout: float | None,
        sent: list[bool] | None = None,
        *,
        via_reader: bool = False,
    ) -> T:
        if not isinstance(query, str):
            raise InterfaceError(f"a query must be a str, not {type(query).__name__}")
        if self._closed:
            raise ConnectionDoesNotExistError("the connection is closed")
        if timeout is not None:
            # The call within runs with no timeout of its own: no nullcontext per query without one.
            with anyio.fail_after(timeout):
                return await self._run(operation, query, args, None, sent, via_reader=via_reader)
        started = time.monotonic()
        sent = [] if sent is None else sent
        lock = self._lock
        try:
            # `async with lock`, inlined: uncontended, no coroutine to create and await.
            if lock.held:
                await lock.wait()
            else:
                lock.held = True
            try:
                await self._checkpoint_if_cancelled()  # a cancelled caller sends nothing
                if self._unlisten_due:
                    await self._send_due_unlistens()
                return await self._drive(operation, sent, via_reader)
            finally:
                lock.release()
        finally:
            # Only what reached the server is logged (not e.g. a second add_listener); the test for
            # loggers spares a clock read and a call per query when there are none.
            if sent and self._session.listeners.query_loggers:
                log_query(self._session.listeners, query, args, time.monotonic() - started)
            if self._unlisten_due and self._session.client.transaction_status == "I":
                self._schedule_unlisten_flush()  # e.g. due since a transaction that has now ended

    async def _run_prepared(self, query: str, args: tuple[object, ...], timeout: float | None) -> Request | None:
        """Run `query` as its cached prepared statement: one round trip, driven without an operation
        generator (issue 6: 137.7k -> 130.9k instructions per `SELECT 1` on asyncio): its answered Request.

        None when `_run` must run the call instead: with nothing sent when `_run` waits (another call holds
        the lock), keeps a timeout, sends due UNLISTENs first or says what is wrong (no str, closed), or when
        no statement is cached for `query`; after the server refused the statement as stale (forgotten now),
        to prepare it anew.
        """
        lock = self._lock
        if type(query) is not str or timeout is not None or lock.held or self._closed or self._unlisten_due:
            return None
        started = time.monotonic()
        lock.held = True
        try:
            await self._checkpoint_if_cancelled()  # a cancelled caller sends nothing
            request = start_prepared(self._session, query, args)
            if request is None:
                return None
            again = False
            try:
                if self._pushed is not None:
                    answered = self._send_pushed(request, self._pushed)
                    try:
                        await answered
                    except anyio.get_cancelled_exc_class():
                        await self._cancel_pushed(request)
                        raise
                else:
                    await self._roundtrip(request, False)
                again = request.error is not None and finish_prepared(self._session, query, request)
            finally:
                if self._session.listeners.query_loggers and not again:  # `_run` logs the query it runs again
                    log_query(self._session.listeners, query, args, time.monotonic() - started)
            return None if again else request
        finally:
            lock.release()
            if self._unlisten_due and self._session.client.transaction_status == "I":
                self._schedule_unlisten_flush()  # e.g. due since a transaction that has now ended

    async def _drive(
        self, operation: Generator[Request | SendQueued, None, T], sent: list[bool], via_reader: bool = False
    ) -> T:
        try:
            step = next(operation)
            while True:
                sent.append(True)
                if isinstance(step, SendQueued):
                    await self._send_queued(step.requests)
                elif self._pushed is not None:
                    answered = self._send_pushed(step, self._pushed)
                    try:
                        await answered
                    except anyio.get_cancelled_exc_class():
                        await self._cancel_pushed(step)
                        raise
                    # As in `_roundtrip`: a cancellation that came while the answer was on its way still
                    # counts (add_listener() then undoes its LISTEN).
                    await self._checkpoint_if_cancelled()
                else:
                    await self._roundtrip(step, via_reader)
                step = operation.send(None)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]  # the generator's declared return type
        except BaseException:
            # Now, not when the traceback is freed: an operation undoes what it registered (listen()
            # unregisters its callback) when it is closed.
            operation.close()
            raise

    async def _roundtrip(self, request: Request, via_reader: bool) -> None:
        """Send `request` and wait for its answer: read by this task when no other read is in progress,
        else (or `via_reader`) by the reader task.

        `via_reader` is for LISTEN / UNLISTEN: reading the answer in this task completes the call in the
        step the answer arrives in, whereas the reader task's hand-over lets a task that cancels this one
        meanwhile still undo the LISTEN (tests/anyio/test_listeners.py, cancelled_mid_listen).
        """
        if self._closed:
            raise ConnectionDoesNotExistError("the connection is closed")
        # No cancellation check before sending: the Client already holds this request's bytes, which a
        # cancellation here would leave to go out ahead of the next request's, and its answer to that
        # request (the executemany parts' closing COMMIT after a timeout passed in a shielded send). A
        # cancelled operation stops at the lock's acquire, or at the check after each answer.
        request.on_done = self._hand_over
        self._router.add(request)
        await self._send_requests()
        done: anyio.Event | None = None
        try:
            if via_reader or self._reader_receiving or self._caller_reading:
                done = self._done_event(request)
                self._parked_reader.wake()  # a reader paused (backpressure, hand-over) must read: this request waits
                await done.wait()
            else:
                await self._read_answer(request)
            # A cancellation that came while the answer was on its way still counts (as when `send` yielded
            # before writing): e.g. add_listener() then undoes its LISTEN rather than returning.
            await self._checkpoint_if_cancelled()
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await self._cancel_on_server(request, done or self._done_event(request))
            raise
        finally:
            self._resume_reader()  # the reader parked after answering this request (`_handoff`)

    def _hand_over(self) -> None:
        """A request of `_roundtrip` is answered: if the reader task read it, it parks (`_handoff`)."""
        self._handoff = True

    def _done_event(self, request: Request) -> anyio.Event:
        """An event set once `request` is answered; made only when the caller waits for the reader task (a
        caller reading its own answer needs none: issue 6)."""
        done = anyio.Event()
        if request.done:
            done.set()
        else:

            def answered() -> None:
                self._hand_over()
                done.set()

            request.on_done = answered
        return done

    def _send_pushed(self, request: Request, stream: AsyncioStream) -> asyncio.Future[None]:
        """`_roundtrip`'s send on asyncio without TLS: the future `request`'s answer completes, which the
        caller awaits, and on cancellation hands to `_cancel_pushed`. The stream's `data_received` routes the
        answer: one wake-up per query, no reader task involved.

        A plain call, not a coroutine (the write never waits): none to create and resume per query (issue 6).
        No checkpoint before sending (see `_roundtrip`); a cancellation that comes once the answer is in is
        left to the caller's next checkpoint, as trio's own operations do (`_drive` checks for it).
        """
        if self._closed:
            raise ConnectionDoesNotExistError("the connection is closed")
        # Not loop.create_future() (one Python call more) nor Future() (its loop looked up, with a getpid()
        # system call: 0.44 against 0.27 us, timeit on this machine).
        answered: asyncio.Future[None] = asyncio.Future(loop=stream.loop)
        self._answered = answered
        request.on_done = self._settle
        self._router.add(request)
        self._write_requests(stream)
        if stream.is_reading_paused:  # for backpressure: a waiting request reads regardless
            stream.resume_reading()
        return answered

    def _settle_answered(self) -> None:
        """The request `_send_pushed` sent is answered (its `on_done`)."""
        answered = self._answered
        if answered is not None and not answered.done():  # cancelled meanwhile
            answered.set_result(None)

    async def _cancel_pushed(self, request: Request) -> None:
        """The caller of `_send_pushed` was cancelled while `request`'s answer was on its way: cancel it on
        the server and wait for its end (shielded), so the next request finds the connection idle."""
        done = anyio.Event()
        request.on_done = done.set
        with anyio.CancelScope(shield=True):
            await self._cancel_on_server(request, done)

    async def _send_queued(self, requests: tuple[Request, ...]) -> None:
        """Send what `requests` queued; their answers are read (by the reader task, or the stream's
        callback) while the operation queues more, and waited for with its last request (`_roundtrip`)."""
        if self._closed:
            raise ConnectionDoesNotExistError("the connection is closed")
        for request in requests:
            self._router.add(request)
        await self._send_requests()
        self._parked_reader.wake()  # a parked reader reads the answers meanwhile

    async def _send_requests(self) -> None:
        """Send what the Client has queued; a failed send means the connection is lost."""
        if self._pushed is not None:
            self._write_requests(self._pushed)
            return
        try:
            await self._send(self._session.client.data_to_send())
        except _SEND_ERRORS as exc:
            raise self._lost_in_send(exc) from exc

    def _write_requests(self, stream: AsyncioStream) -> None:
        """`_send_requests` on the pushed stream, whose write never waits."""
        try:
            stream.write(self._session.client.data_to_send())
        except _SEND_ERRORS as exc:
            raise self._lost_in_send(exc) from exc

    def _lost_in_send(self, exc: BaseException) -> ConnectionDoesNotExistError:
        self._mark_lost(None)
        return ConnectionDoesNotExistError(f"the connection was lost: {exc}")

    async def _read_answer(self, request: Request) -> None:
        """Read the socket in this task until `request` is answered, routing everything read as the reader
        task does (notifications, notices, termination).

        When the reader task is not inside `receive()` (it is parked, or has not run since the previous
        answer), the caller reading for itself wakes once per answer; through the reader it was woken
        twice more (the reader, then the caller by the reader). The reader stays parked meanwhile, and
        reads again as soon as this ends, also on cancellation (it then reads what `_cancel_on_server`
        waits for).
        """
        self._caller_reading = True
        try:
            while not request.done:
                data = await _reader.receive(self)
                if data is None:  # closed under us (terminate())
                    self._mark_lost(None)
                    return
                if not _reader.feed(self, data):
                    return
        finally:
            self._caller_reading = False
            self._parked_reader.wake()  # the reader task reads again (also what a cancelled request still awaits)

    def _resume_reader(self) -> None:
        """The caller of the request just answered has resumed: the reader task may read again."""
        self._handoff = False
        self._parked_reader.wake()

    async def _send(self, data: bytes) -> None:
        """Write `data` to the server, whole.

        anyio's `send()` passes through the event loop once even when the socket takes every byte at once
        (issue 6: a quarter of a query's time on rtt), and needs a shield so that a cancellation cannot
        leave half a message. On a plain socket, a non-blocking write that takes all bytes needs neither:
        only the rest of a partial write goes through the stream. Safe to mix: sends are serialised by the
        lock, and each request's bytes have all left (the server answered them) before the next is sent.
        """
        fd = -1 if self._raw_socket is None else self._raw_socket.fileno()
        if fd >= 0:
            try:
                written = os.write(fd, data)
            except BlockingIOError:
                written = 0
            if written == len(data):
                return
            data = data[written:]
        with anyio.CancelScope(shield=True):  # half a message would corrupt the stream
            await self._stream.send(data)

    async def _cancel_on_server(self, request: Request, done: anyio.Event) -> None:
        """The caller gave up on `request`: cancel it on the server and wait until the server is in sync."""
        client = self._session.client
        if request.done or self._closed or client.backend_pid is None or client.secret_key is None:
            return
        with anyio.move_on_after(_CANCEL_GRACE):
            try:
                await send_cancel_request(
                    self._params, self._address, cancel_request(client.backend_pid, client.secret_key)
                )
            except OSError:
                logger.warning("could not send a CancelRequest to %s", self._address)
            await done.wait()
        if not request.done:
            logger.warning("the server did not answer a cancelled query in time; dropping the connection")
            self.terminate()

    # -- events from the reader -----------------------------------------------------------------------

    def _on_notification(self, notification: Notification) -> None:
        channel = notification.channel
        callbacks = self._session.listeners.callbacks_by_channel.get(channel, ())
        if not callbacks or self._task_group is None:
            return  # nobody listens (any more): not delivered
        if self._inboxes:  # a notifications() iterator runs: feed it here, the others go to the dispatcher
            dispatched = False
            for callback in callbacks:
                if not isinstance(callback, NotificationSink):
                    dispatched = True
                elif (inbox := self._inboxes.get(callback)) is not None:
                    inbox.push(notification)  # here, in the server's order across the iterator's channels
                    self._pending_notifications += 1
            if not dispatched:
                return
        queue = self._dispatchers.get(channel)
        if queue is None:  # nothing of this channel waits: its callbacks run now, in the server's order
            _reader.deliver_now(self, channel, callbacks, notification)
            return
        queue.append(notification)
        self._pending_notifications += 1

    def _drop_undelivered(self, channel: str) -> None:
        """The channel lost its last callback: what was queued for it is not delivered to later ones."""
        key = channel_key(channel)
        queue = self._dispatchers.get(key)
        if queue and not self._session.listeners.channel_callbacks(key):
            self._pending_notifications -= len(queue)
            queue.clear()
            self._parked_reader.wake()

    def _abandon_listener(self, channel: str, callback: Callable[[str, str], Any]) -> None:
        """Unregister `callback` where nothing can be awaited; a due UNLISTEN goes before the next request."""
        if self._session.listeners.remove_listener(channel, callback):
            self._drop_undelivered(channel)
            self._unlisten_if_unused(channel)

    def _unlisten_if_unused(self, channel: str) -> None:
        """UNLISTEN `channel` soon (before the next request) unless it has callbacks again by then."""
        key = channel_key(channel)
        if not self._closed and not self._session.listeners.channel_callbacks(key):
            self._unlisten_due.add(key)
            self._schedule_unlisten_flush()

    def _schedule_unlisten_flush(self) -> None:
        """Send the due UNLISTENs also when no request follows."""
        if self._task_group is not None and not self._flush_scheduled and not self._closed:
            # May fail where no task can start (an iterator garbage-collected at exit): the next request sends them.
            with contextlib.suppress(Exception):
                self._task_group.start_soon(self._flush_unlistens)
                self._flush_scheduled = True

    async def _flush_unlistens(self) -> None:
        try:
            async with self._lock:
                self._flush_scheduled = False
                await self._send_due_unlistens()
        except ConnectionDoesNotExistError:
            pass

    async def _send_due_unlistens(self) -> None:
        # LISTEN and UNLISTEN are transactional: inside the application's transaction, a ROLLBACK would undo
        # the UNLISTEN, and a failed transaction would refuse it. Wait until the session is idle.
        if self._session.client.transaction_status != "I":
            return
        while self._unlisten_due and not self._closed:
            channel = self._unlisten_due.pop()
            if self._session.listeners.channel_callbacks(channel):
                continue  # listened to again meanwhile
            query = f"UNLISTEN {quote_ident(channel)}"
            started = time.monotonic()
            try:
                await self._drive(simple_query(self._session, query), [])
            except PostgresError:
                logger.warning("UNLISTEN %s failed; the session may go on listening", quote_ident(channel))
            finally:
                log_query(self._session.listeners, query, (), time.monotonic() - started)

    def _discard_inbox(self, sink: NotificationSink) -> None:
        """A notifications() iterator ended: what it had not yielded yet no longer counts as pending."""
        inbox = self._inboxes.pop(sink, None)
        if inbox is not None:
            self._pending_notifications -= len(inbox.queue)
            inbox.queue.clear()
            self._parked_reader.wake()

    def _notification_done(self) -> None:
        self._pending_notifications -= 1
        # Only at the threshold: below it the reader is not paused (it pauses only at or above).
        if self._pending_notifications == self._max_pending_notifications - 1:
            self._parked_reader.wake()

    def _on_terminated(self, reason: Notice | None) -> None:
        self._termination_reason = reason
        self._mark_lost(reason)

    def _mark_lost(self, reason: object) -> None:
        """The session is over: fail every waiting call, and fire the termination listeners once."""
        if self._closed:
            return
        self._closed = True
        self._parked_reader.wake()
        self._router.fail_all(ConnectionDoesNotExistError(self._lost_message(reason)))
        for inbox in self._inboxes.values():
            inbox.mark_lost()
        if self._closing_by_user:
            return
        for callback in self._session.listeners.termination_listeners:
            result = call_safely(callback)
            if isinstance(result, Awaitable) and self._task_group is not None:
                self._task_group.start_soon(_await_logged, result, callback)


def _backend_checkpoint_if_cancelled() -> Callable[[], Awaitable[None]]:
    """anyio.lowlevel.checkpoint_if_cancelled of the running backend, looked up once: anyio looks the
    backend up through sniffio on every call (four Python calls per query on asyncio). On trio, trio's own,
    which anyio's merely awaits (a coroutine less, twice per query)."""
    if running_trio():
        import trio  # imported already where trio runs

        return trio.lowlevel.checkpoint_if_cancelled
    backend = getattr(anyio.lowlevel.current_token(), "backend_class", None)  # anyio >= 4.11
    return anyio.lowlevel.checkpoint_if_cancelled if backend is None else backend.checkpoint_if_cancelled


def _plain_raw_socket(stream: ByteStream) -> _FileDescriptor | None:
    """The socket under `stream` if bytes written to it go to the server as they are (no TLS), on POSIX
    (where `os.write` writes to a socket: asyncio hands out only a wrapper without `send`)."""
    if os.name != "posix" or stream.extra(TLSAttribute.ssl_object, None) is not None:
        return None
    raw: _FileDescriptor | None = stream.extra(SocketAttribute.raw_socket, None)
    return raw


class _FileDescriptor(Protocol):
    def fileno(self) -> int: ...


async def _await_logged(awaitable: Awaitable[object], callback: object) -> None:
    try:
        await awaitable
    except Exception:
        logger.exception("termination listener %r raised", callback)
