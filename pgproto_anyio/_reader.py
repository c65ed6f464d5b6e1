"""The task that reads the socket, feeds the Client and routes events whenever no caller reads its own
answer (one reader at a time: see Connection._roundtrip); and the per-channel dispatchers it starts, which
run notification callbacks in order without ever blocking it.
"""

from __future__ import annotations

import inspect
import logging
from collections import deque
from collections.abc import Awaitable
from typing import TYPE_CHECKING

import anyio

from pgproto import Notification, ProtocolError
from pgproto._shared._dispatch import NotificationSink, log_callback_raise
from pgproto._shared._listeners import ChannelCallback

if TYPE_CHECKING:
    from ._asyncio_stream import AsyncioStream
    from ._connection import Connection

logger = logging.getLogger("pgproto")

try:
    from sniffio import current_async_library_cvar as _library_cvar
except ImportError:  # without sniffio, anyio finds asyncio from the running loop
    _library_cvar = None  # type: ignore[assignment]
_READ_SIZE = 65536


async def run(conn: Connection, started: anyio.Event) -> None:
    """Own the connection's task group: read until the session ends, then let dispatchers and
    termination listeners finish. Cancelled by `close()` / `terminate()`."""
    try:
        async with anyio.create_task_group() as task_group:
            conn._task_group = task_group
            started.set()
            if conn._pushed is not None:
                await _push_loop(conn, conn._pushed)
            else:
                await _read_loop(conn)
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.aclose_forcefully(conn._stream)
        conn._mark_lost(None)  # cancelled or crashed: waiters must not wait forever


async def _read_loop(conn: Connection) -> None:
    client = conn._session.client
    router = conn._router
    while not client.is_closed and not conn._closed:
        if conn._caller_reading or conn._handoff or (
            conn._pending_notifications >= conn._max_pending_notifications and not router.requests
        ):
            # A caller reads its answer itself (exactly one reader at a time), or backpressure: leave the
            # server's data in the socket until dispatch catches up. Woken by `_parked_reader.wake()`.
            await conn._parked_reader.wait()
            continue
        conn._reader_receiving = True
        try:
            data = await receive(conn)
        finally:
            conn._reader_receiving = False
        if data is None or not feed(conn, data):
            return


async def _push_loop(conn: Connection, stream: AsyncioStream) -> None:
    """On asyncio without TLS the stream's `data_received` feeds the Client; this task only pauses and
    resumes reading for backpressure, woken by `_parked_reader.wake()`."""
    router = conn._router

    def backpressure_due() -> bool:
        return conn._pending_notifications >= conn._max_pending_notifications and not router.requests

    def consume(data: bytes) -> None:
        if conn._closed:
            return
        # Callbacks run here, outside any task: let anyio (through sniffio) still see asyncio. Set, never
        # reset: the transport calls this in a context of its own (asyncio's reader Handle runs every call
        # in one copy of the context it was created in), so it is set once per Handle, not per call.
        if _library_cvar is not None and _library_cvar.get(None) != "asyncio":
            _library_cvar.set("asyncio")
        feed(conn, data)
        # backpressure_due(), inlined: this runs once per chunk received.
        if conn._pending_notifications >= conn._max_pending_notifications and not router.requests:
            stream.pause_reading()

    stream.push_to(consume)
    while not conn._session.client.is_closed and not conn._closed:
        await conn._parked_reader.wait()
        if not backpressure_due():
            stream.resume_reading()


async def receive(conn: Connection) -> bytes | None:
    """The next bytes from the server; b"" at its end (or a broken socket), None once the stream is closed."""
    try:
        return await conn._stream.receive(_READ_SIZE)
    except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
        return b""
    except anyio.ClosedResourceError:
        return None


def feed(conn: Connection, data: bytes) -> bool:
    """Feed `data` to the Client and route every event it produced; False once the session is broken."""
    try:
        conn._session.client.receive_data(data)
        conn._route_ready()  # stops where a callback closed the connection (terminate())
    except ProtocolError as exc:
        conn._mark_lost(exc)
        return False
    return True


def deliver_now(
    conn: Connection, channel: str, callbacks: tuple[ChannelCallback, ...], notification: Notification
) -> None:
    """Run `notification`'s callbacks here and now, until one returns an awaitable: a dispatcher task for
    the channel then awaits it and runs the rest, and the channel's next notifications queue behind it.

    Plain callbacks thus cost no queue and no task switch (issue 6: a quarter of the driver's time per
    notification); they block the event loop while they run, wherever they run.
    """
    done = 0
    for callback in callbacks:
        done += 1
        if type(callback) is NotificationSink:
            continue  # a notifications() iterator: the reader fed it already
        try:  # `_call`, inline: once per notification and callback (issue 6)
            result = callback(notification.channel, notification.payload)
        except Exception:
            log_callback_raise(callback)
            continue
        if result is not None and inspect.isawaitable(result) and conn._task_group is not None:
            queue: deque[Notification] = deque()
            conn._dispatchers[channel] = queue
            conn._pending_notifications += 1
            unfinished = (callback, result, callbacks[done:], notification)
            conn._task_group.start_soon(dispatch_channel, conn, channel, queue, unfinished)
            return


async def dispatch_channel(
    conn: Connection,
    channel: str,
    queue: deque[Notification],
    unfinished: tuple[ChannelCallback, Awaitable[object], tuple[ChannelCallback, ...], Notification] | None = None,
) -> None:
    """Finish the `unfinished` notification (await its callback's result, run its other callbacks), then
    run the callbacks of `channel` for each queued notification, one after another."""
    listeners = conn._session.listeners
    try:
        if unfinished is not None:
            callback, awaitable, rest, notification = unfinished
            try:
                await _awaited(callback, awaitable)
                await _run_callbacks(rest, notification)
            finally:
                conn._notification_done()
        while queue:
            notification = queue.popleft()
            try:
                await _run_callbacks(listeners.channel_callbacks(channel), notification)
            finally:
                conn._notification_done()
    finally:
        conn._dispatchers.pop(channel, None)


async def _run_callbacks(callbacks: tuple[ChannelCallback, ...], notification: Notification) -> None:
    for callback in callbacks:
        result = _call(callback, notification)
        if result is not None:
            await _awaited(callback, result)


def _call(callback: ChannelCallback, notification: Notification) -> Awaitable[object] | None:
    """Call one channel callback (logging a raise); what it returned if that must be awaited."""
    if isinstance(callback, NotificationSink):
        return None  # a notifications() iterator: the reader fed it already
    try:  # call_safely's work inline: once per notification and callback (issue 6)
        result = callback(notification.channel, notification.payload)
    except Exception:
        log_callback_raise(callback)
        return None
    # Plain callbacks return None: skip the costlier isawaitable() for them.
    return result if result is not None and inspect.isawaitable(result) else None


async def _awaited(callback: ChannelCallback, awaitable: Awaitable[object]) -> None:
    try:
        await awaitable
    except Exception:
        logger.exception("notification callback %r raised; the connection goes on", callback)
