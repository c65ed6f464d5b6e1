"""pgproto_sync: the blocking PostgreSQL driver on plain sockets, for scripts and threads.

`conn = pgproto_sync.connect(dsn)` or `with pgproto_sync.connect(dsn) as conn`; then
`execute`, `fetch*`, `transaction()`, and the listener API (`add_listener`, `add_log_listener`,
`add_termination_listener`, `add_query_logger`, `query_logger`, `notifications`, `poll`).
"""

from pgproto._shared._public import *  # noqa: F403
from pgproto._shared._public import __all__ as _public_names

from ._connection import Connection, Transaction, connect

__all__ = ["Connection", "Transaction", "connect", *_public_names]
