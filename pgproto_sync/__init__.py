"""pgproto_sync: the blocking PostgreSQL driver on plain sockets, for scripts and threads.

`conn = pgproto_sync.connect(dsn)` or `with pgproto_sync.connect(dsn) as conn`; then
`execute`, `fetch*`, `transaction()`, and the listener API (`add_listener`, `add_log_listener`,
`add_termination_listener`, `add_query_logger`, `query_logger`, `notifications`, `poll`).
"""

from pgproto import Notice, Notification
from pgproto._shared._results import Record
from pgproto._sqlstate import *  # noqa: F403
from pgproto._sqlstate import __all__ as _sqlstate_names
from pgproto.errors import (
    ArgumentError,
    AuthenticationError,
    ConnectionDoesNotExistError,
    InterfaceError,
    PostgresError,
    ProtocolError,
)

from ._connection import Connection, Transaction, connect

__all__ = [
    "ArgumentError",
    "AuthenticationError",
    "Connection",
    "ConnectionDoesNotExistError",
    "InterfaceError",
    "Notice",
    "Notification",
    "PostgresError",
    "ProtocolError",
    "Record",
    "Transaction",
    "connect",
    *_sqlstate_names,
]
