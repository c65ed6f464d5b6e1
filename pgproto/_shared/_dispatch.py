"""Turn the core's events into callback calls and request results; log a failing callback and go on.

The one isinstance ladder over events, written once for both drivers. No I/O: the driver supplies what
to do with a notification (queue it for its dispatcher) and with the end of the session.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from .. import events as ev
from ..errors import ConnectionDoesNotExistError, PostgresError
from ._listeners import Listeners
from ._results import Request

logger = logging.getLogger("pgproto")


def call_safely(callback: Callable[..., object], *args: object) -> object:
    """Call `callback`; if it raises, log the traceback at ERROR on logger `pgproto` and return None."""
    try:
        return callback(*args)
    except Exception:
        log_callback_raise(callback)
        return None


def log_callback_raise(callback: Callable[..., object]) -> None:
    """Log, with the traceback being handled, that `callback` raised (the connection goes on)."""
    logger.exception("callback %r raised; the connection goes on", callback)


def log_query(listeners: Listeners, query: str, args: tuple[object, ...], duration: float) -> None:
    """Report one executed query to every query logger."""
    for callback in listeners.query_loggers:
        call_safely(callback, query, args, duration)


class Router:
    """Routes each event: notifications and termination to the driver's hooks, everything else to the
    oldest request in flight, which ReadyForQuery completes.

    The events of every query, every notification and every notice (Rows, QueryComplete, ReadyForQuery,
    Notification, Notice: to the log listeners) are routed by `ConnectionBase._route_ready` itself, a call
    less per event (issue 6); `route` takes the others.

    Args:
        listeners: the connection's registry.
        on_notification: queue a notification for dispatch (the driver decides how callbacks run).
        on_terminated: the session ended (server error as a Notice, or None for a closed socket).
    """

    def __init__(
        self,
        listeners: Listeners,
        on_notification: Callable[[ev.Notification], None],
        on_terminated: Callable[[ev.Notice | None], None],
    ) -> None:
        self.listeners = listeners
        #: The requests in flight, oldest first: the head gets the events of its answer.
        self.requests: deque[Request] = deque()
        #: What a Notification is routed to.
        self.on_notification = on_notification
        self._on_terminated = on_terminated

    def route(self, event: ev.Event) -> None:
        """Handle one event from `Client.next_event()` other than those `_route_ready` routes itself."""
        match event:
            case ev.Terminated():
                self._on_terminated(event.reason)
            case ev.ParameterStatus() | ev.BackendKeyData() | ev.Authenticated() | ev.ProtocolVersionNegotiated():
                pass  # about the session itself: the Client keeps what they say
            case _:
                if self.requests:
                    self.requests[0].feed(event)

    def add(self, request: Request) -> None:
        """Queue `request`, whose bytes are about to be sent; once (a request sent in parts stays queued)."""
        if not request.in_flight:
            request.in_flight = True
            self.requests.append(request)

    def fail_all(self, error: BaseException) -> None:
        """End every request in flight with `error` (the connection is gone)."""
        while self.requests:
            self.requests.popleft().fail(error)



def startup_finished(event: ev.Event) -> bool:
    """During startup: True at the first ReadyForQuery; a Terminated event raises why.

    Raises:
        PostgresError: the server refused the session (wrong password, unknown database, ...).
        ConnectionDoesNotExistError: the server closed the connection without saying why.
    """
    if isinstance(event, ev.Terminated):
        if event.reason is not None:
            raise PostgresError.from_notice(event.reason)
        raise ConnectionDoesNotExistError("the server closed the connection during startup")
    return isinstance(event, ev.ReadyForQuery)


class NotificationSink:
    """A channel callback that wants the whole Notification (pid too): what `notifications()` registers."""

    __slots__ = ("push",)

    def __init__(self, push: Callable[[ev.Notification], object]) -> None:
        self.push = push

    def __call__(self, channel: str, payload: str) -> None:  # pragma: no cover - never called this way
        raise TypeError("a NotificationSink is fed through its push()")
