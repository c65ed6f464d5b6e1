"""The parts of a driver Connection that are the same, and synchronous, in both drivers: state queries
and the log, termination and query-logger registrations."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping

from ..events import Notice
from ._operations import Session


class ConnectionBase:
    """State and synchronous registrations shared by `pgproto_anyio.Connection` and `pgproto_sync.Connection`."""

    _session: Session
    _closed: bool
    _termination_reason: Notice | None

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
        """How a waiting call learns why the connection is gone."""
        if isinstance(reason, Notice):
            return f"the connection was lost: {reason.severity}: {reason.message}"
        if isinstance(reason, BaseException):
            return f"the connection was lost: {reason}"
        return "the connection was lost"
