"""pgproto_anyio: the async PostgreSQL driver on anyio, for asyncio and trio.

`conn = await pgproto_anyio.connect(dsn)` or `async with pgproto_anyio.connect(dsn) as conn`; then
`execute`, `fetch*`, `transaction()`, and the listener API (`add_listener`, `add_log_listener`,
`add_termination_listener`, `add_query_logger`, `query_logger`, `notifications`).
"""

from pgproto import _sqlstate
from pgproto._shared import _public
from pgproto._shared._public import *  # noqa: F403
from pgproto._sqlstate import *  # noqa: F403

from ._connect import connect
from ._connection import Connection
from ._transaction import Transaction

# These forms (not a computed list) let mypy see the re-exported names.
__all__ = ["Connection", "Transaction", "connect"]
__all__ += _public.__all__
__all__ += _sqlstate.__all__
