"""The parts of a driver Connection that are the same, and synchronous, in both drivers: state queries
and the log, termination and query-logger registrations."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping

from .._client import NEED_DATA
from ..events import Notice, Notification, QueryComplete, ReadyForQuery, Rows
from ._dispatch import Router, log_callback_raise
from ._operations import Session


class ConnectionBase:
    """State and synchronous registrations shared by `pgproto_anyio.Connection` and `pgproto_sync.Connection`."""

    _session: Session
    _router: Router
    _closed: bool
    #: close() or terminate() was called: the application, not the server or the network, ended it.
    _closing_by_user: bool
    _termination_reason: Notice | None

    #: Notices routed to the log listeners so far (the blocking driver's poll() counts them).
    _notices_routed = 0

    def _route_ready(self) -> None:
        """Route every event the Client has ready: until NEED_DATA, or until a callback closed the connection.

        The events of every query, notifications and notices are routed here by exact type; the Router takes
        the rest (issue 6: a call less per event; 4% of a `SELECT 1` in the blocking driver, 2% on asyncio).

        Raises:
            ProtocolError: from the Client; the events before the bad message were routed.
        """
        client, router = self._session.client, self._router
        next_event, route, on_notification = client.next_event, router.route, router.on_notification
        requests = router.requests
        notices = 0
        try:
            # The usual read: one query's whole answer, taken without its events.
            if requests and (answer := client.take_answer()) is not None:
                request = requests.popleft()
                rows, tag = answer
                if request.rows:
                    request.rows.extend(rows)
                else:
                    request.rows = rows
                request.command_tag = tag
                request.finish()
            while not self._closed and (event := next_event()) is not NEED_DATA:
                # `continue` after each, not elif: on CPython 3.11 the if/else chain cost 1.2k-1.7k
                # instructions more per notification (bench.instructions, measured twice).
                if type(event) is Notification:
                    on_notification(event)
                    continue
                if type(event) is Notice:  # to every log listener, now (they are plain functions)
                    notices += 1
                    for callback in router.listeners.log_listeners:
                        try:  # call_safely, inline: one call less per notice in a RAISE NOTICE flood
                            callback(event)
                        except Exception:
                            log_callback_raise(callback)
                    continue
                if type(event) is Rows:
                    requests[0].rows.extend(event.rows)
                    continue
                if type(event) is QueryComplete:
                    requests[0].command_tag = event.command_tag
                    continue
                if type(event) is ReadyForQuery:
                    requests.popleft().finish()
                    continue
                route(event)
        finally:
            self._notices_routed += notices

    def is_closed(self) -> bool:
        """True once the connection was closed or lost."""
        return self._closed

    @property
    def termination_reason(self) -> Notice | None:
        """The server's error that ended the session, or None (still open, closed by us, or socket loss)."""
        return self._termination_reason

    def get_server_pid(self) -> int:
        """The process id of the server backend serving this connection."""
        return self._session.client.backend_pid or 0

    def get_settings(self) -> Mapping[str, str]:
        """The server's run-time parameters, as last reported (server_version, TimeZone, ...)."""
        return dict(self._session.client.parameters)

    def add_log_listener(self, callback: Callable[[Notice], object]) -> None:
        """Call `callback(notice)` for every NoticeResponse (RAISE NOTICE/WARNING/INFO/LOG, warnings).

        Log listeners are plain functions, called before the call that raised the notice returns.
        """
        self._session.listeners.add_log_listener(callback)

    def remove_log_listener(self, callback: Callable[[Notice], object]) -> None:
        """Stop calling a log listener; unknown callbacks: no-op."""
        self._session.listeners.remove_log_listener(callback)

    def add_termination_listener(self, callback: Callable[[], object]) -> None:
        """Call `callback()` once if the connection is lost other than by close() or terminate()."""
        self._session.listeners.add_termination_listener(callback)

    def remove_termination_listener(self, callback: Callable[[], object]) -> None:
        """Stop calling a termination listener; unknown callbacks: no-op."""
        self._session.listeners.remove_termination_listener(callback)

    def add_query_logger(self, callback: Callable[[str, tuple[object, ...], float], object]) -> None:
        """Call `callback(query, args, duration)` after every query this connection runs."""
        self._session.listeners.add_query_logger(callback)

    def remove_query_logger(self, callback: Callable[[str, tuple[object, ...], float], object]) -> None:
        """Stop calling a query logger; unknown callbacks: no-op."""
        self._session.listeners.remove_query_logger(callback)

    @contextlib.contextmanager
    def query_logger(self, callback: Callable[[str, tuple[object, ...], float], object]) -> Iterator[None]:
        """Log queries to `callback` for the duration of a `with` block (removed after, also on error)."""
        self.add_query_logger(callback)
        try:
            yield
        finally:
            self.remove_query_logger(callback)

    def _lost_message(self, reason: object) -> str:
        """How a waiting call learns why the connection is gone: `reason` (the server's error, a broken
        socket's exception), or the application's own close() or terminate() (e.g. in a callback)."""
        if isinstance(reason, Notice):
            return f"the connection was lost: {reason.severity}: {reason.message}"
        if isinstance(reason, BaseException):
            return f"the connection was lost: {reason}"
        if self._closing_by_user:
            return "the connection was closed by close() or terminate() before this call finished"
        return "the connection was lost"
