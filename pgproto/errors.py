"""Exceptions: ProtocolError for broken server bytes, InterfaceError for misuse, PostgresError for server errors.

The SQLSTATE subclasses of PostgresError live in the generated `_sqlstate` module.
"""

from __future__ import annotations

from .events import NOTICE_FIELD_NAMES, Notice


class ProtocolError(Exception):
    """The server sent bytes that break PostgreSQL's protocol; the connection cannot continue."""


class AuthenticationError(ProtocolError):
    """The server asks for authentication the client cannot give (no password, an unsupported method)."""


class InterfaceError(Exception):
    """The client was used in a way it does not support (a closed connection, a wrong argument, ...)."""


class ConnectionDoesNotExistError(InterfaceError):
    """The connection is closed or was lost: no query can run on it."""


class ArgumentError(InterfaceError, ValueError):
    """A query argument could not be encoded for the type the server expects."""


class PostgresError(Exception):
    """An ErrorResponse from the server, raised as the subclass named after its SQLSTATE.

    Its fields are those of `pgproto.Notice` (`sqlstate`, `message`, `detail`, `hint`, `position`, ...),
    None when the server sent none.
    """

    #: The SQLSTATE this class stands for; each instance holds the code the server actually sent.
    sqlstate: str | None = None

    def __init__(self, notice: Notice) -> None:
        super().__init__(_format(notice))
        self.notice = notice
        self.sqlstate = notice.sqlstate

    def __getattr__(self, name: str) -> object:
        # Delegates the Notice fields, so `err.detail` works without copying each one.
        if name in _NOTICE_FIELDS:
            return getattr(self.notice, name)
        raise AttributeError(name)

    @staticmethod
    def from_notice(notice: Notice) -> PostgresError:
        """The exception for an ErrorResponse, of the class its SQLSTATE (or SQLSTATE class) names."""
        from ._sqlstate import BY_SQLSTATE

        code = notice.sqlstate or ""
        cls = BY_SQLSTATE.get(code) or BY_SQLSTATE.get(code[:2] + "000", PostgresError)
        return cls(notice)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.notice,))


_NOTICE_FIELDS = frozenset(NOTICE_FIELD_NAMES) - {"sqlstate"}


def _format(notice: Notice) -> str:
    """Render like psql: severity, message and SQLSTATE first, then DETAIL and HINT lines."""
    head = f"{notice.severity or 'ERROR'}: {notice.message or '(no message)'}"
    if notice.sqlstate:
        head += f" (SQLSTATE {notice.sqlstate})"
    lines = [head]
    if notice.detail:
        lines.append(f"DETAIL: {notice.detail}")
    if notice.hint:
        lines.append(f"HINT: {notice.hint}")
    return "\n".join(lines)
