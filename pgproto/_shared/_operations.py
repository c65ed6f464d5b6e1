"""What each driver call sends and in what order, written once as generators that both drivers step.

An operation queues messages on the Client and yields the `Request` that collects their answer; the
driver sends the bytes, waits until the request is done, and resumes the generator. No I/O here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Generator, Iterable, Sequence

from .. import events as ev
from .._client import Client
from ..errors import InterfaceError, PostgresError
from ._listeners import ChannelCallback, Listeners, quote_ident
from ._results import Record, Request, SendQueued, columns_of

#: The server refuses a cached plan whose result type changed (e.g. after ALTER TABLE): re-prepare once.
_STALE_STATEMENT = ("0A000", "cached plan must not change result type")


class StatementCache:
    """Prepared statements by query text, least recently used first out.

    Args:
        max_size: how many statements to keep prepared on the server; 0 disables the cache.
    """

    def __init__(self, max_size: int = 100) -> None:
        self.max_size = max_size
        self._by_query: OrderedDict[str, ev.StatementPrepared] = OrderedDict()
        self._counter = 0

    def get(self, query: str) -> ev.StatementPrepared | None:
        statement = self._by_query.get(query)
        if statement is not None:
            self._by_query.move_to_end(query)
        return statement

    def new_name(self) -> str:
        if self.max_size <= 0:
            return ""  # the unnamed statement, replaced by the next Parse
        self._counter += 1
        return f"__pgproto_{self._counter}"

    def add(self, statement: ev.StatementPrepared) -> list[str]:
        """Remember `statement`; the names of statements evicted to make room (to Close)."""
        if not statement.name:
            return []
        self._by_query[statement.query] = statement
        evicted = []
        while len(self._by_query) > self.max_size:
            _, old = self._by_query.popitem(last=False)
            evicted.append(old.name)
        return evicted

    def discard(self, query: str) -> str | None:
        """Forget `query`'s statement; its name, to Close, if it was cached."""
        statement = self._by_query.pop(query, None)
        return statement.name if statement is not None else None

    def clear(self) -> None:
        self._by_query.clear()


class Session:
    """The I/O-free state of one driver connection: the protocol Client, listeners, statement cache."""

    def __init__(self, client: Client, listeners: Listeners, statement_cache_size: int = 100) -> None:
        self.client = client
        self.listeners = listeners
        self.statements = StatementCache(statement_cache_size)
        #: Open transaction() blocks; nested ones are savepoints.
        self.transaction_depth = 0


def simple_query(session: Session, text: str) -> Generator[Request, None, Request]:
    """Run `text` with the simple Query protocol (several `;`-separated statements allowed)."""
    request = Request()
    session.client.query(text)
    yield request
    request.raise_error()
    return request


def prepare(session: Session, query: str) -> Generator[Request, None, ev.StatementPrepared]:
    """The statement for `query`: from the cache, or parsed and described by the server (one round trip)."""
    cached = session.statements.get(query)
    if cached is not None:
        return cached
    request = Request()
    session.client.prepare(session.statements.new_name(), query)
    yield request
    request.raise_error()
    statement = request.prepared
    assert statement is not None  # a successful Describe always produced it
    for name in session.statements.add(statement):
        session.client.close_statement(name, sync=False)  # answered within the next request
    return statement


def start_prepared(session: Session, query: str, args: Sequence[object]) -> Request | None:
    """Queue `query` with `args` as its cached prepared statement: the Request for its answer; None, with
    nothing queued, when no statement is cached for it.

    The drivers' fast path (issue 6): a query whose statement is cached is one round trip, which they
    drive without an operation generator; `finish_prepared` then reads its answer.
    """
    statement = session.statements.get(query)
    if statement is None:
        return None
    request = Request(statement.columns)
    session.client.execute_prepared(statement.name, args)
    return request


def finish_prepared(session: Session, query: str, request: Request, *, may_retry: bool = True) -> bool:
    """A prepared execute is answered: False if it succeeded; True if its statement went stale (e.g. after
    ALTER TABLE) and the query should run again, prepared anew (the statement is forgotten now).

    Raises:
        The request's error otherwise.
    """
    error = request.error
    if error is None:
        return False
    if may_retry and _is_stale(error) and session.client.transaction_status == "I":
        _forget(session, query)
        return True
    raise error


def execute(session: Session, query: str, args: Sequence[object]) -> Generator[Request, None, Request]:
    """Run `query` with `args` as a prepared statement: its rows and command tag."""
    for may_retry in (True, False):
        request = start_prepared(session, query, args)
        if request is None:
            statement = yield from prepare(session, query)
            request = Request(statement.columns)
            session.client.execute_prepared(statement.name, args)
        yield request
        if not finish_prepared(session, query, request, may_retry=may_retry):
            return request
    raise AssertionError("unreachable: the second attempt returns or raises")


def argument_rows(args: Iterable[Sequence[object]]) -> tuple[tuple[object, ...], ...]:
    """executemany()'s rows as tuples; a row that is no sequence (or is a str, which is one) is refused."""
    if isinstance(args, (str, bytes)):
        raise InterfaceError(f"executemany() needs an iterable of argument sequences, not {type(args).__name__}")
    rows = []
    for number, row in enumerate(args, 1):
        if isinstance(row, (str, bytes, bytearray)) or not isinstance(row, Iterable):
            raise InterfaceError(
                f"executemany() row {number} is {row!r}: each row must be a sequence of arguments, "
                f"e.g. ({row!r},)"
            )
        rows.append(tuple(row))
    return tuple(rows)


#: An executemany of more rows than this goes in parts of this many, each sent as soon as it is encoded, so
#: that the server runs one while the next is encoded (issue 6: encoding was half of the client's time).
BATCH_PART_ROWS = 500
#: The savepoint around a batch sent in parts inside the application's transaction.
_BATCH_SAVEPOINT = "__pgproto_executemany"


def execute_many(
    session: Session, query: str, rows: tuple[tuple[object, ...], ...]
) -> Generator[Request | SendQueued, None, None]:
    """Run `query` once per argument tuple (`rows` as `argument_rows` returns them), pipelined.

    It all happens, or (on error) none of it. A batch of up to BATCH_PART_ROWS rows is every Bind/Execute
    and one Sync, in one implicit transaction; a larger one is sent in parts (`_execute_in_parts`).
    """
    statement = yield from prepare(session, query)
    if not rows:
        return
    if len(rows) > BATCH_PART_ROWS and session.client.transaction_status in ("I", "T"):
        yield from _execute_in_parts(session, statement, rows)
        return
    request = Request(statement.columns)
    session.client.execute_prepared_many(statement.name, rows)
    yield request
    request.raise_error()


def _execute_in_parts(
    session: Session, statement: ev.StatementPrepared, rows: tuple[tuple[object, ...], ...]
) -> Generator[Request | SendQueued, None, None]:
    """A large batch in parts, each sent (with its own Sync) while the next is encoded.

    The parts run in a transaction of their own (BEGIN ... COMMIT), or under a savepoint inside the
    application's, so the batch still all happens or none of it: a part the server refuses fails the
    rest (as one row failing a single batch would), and a row that cannot be encoded rolls back the
    parts sent before it, leaving the session as it was.
    """
    client = session.client
    if client.transaction_status == "I":
        begin, end, undo = "BEGIN", "COMMIT", "ROLLBACK"
    else:
        begin, end = f"SAVEPOINT {_BATCH_SAVEPOINT}", f"RELEASE SAVEPOINT {_BATCH_SAVEPOINT}"
        undo = f"ROLLBACK TO SAVEPOINT {_BATCH_SAVEPOINT}; {end}"
    client.query(begin)
    parts = [Request()]
    unsent = parts[:]  # BEGIN goes with the first part
    failure: InterfaceError | None = None
    for start in range(0, len(rows), BATCH_PART_ROWS):
        try:
            client.execute_prepared_many(statement.name, rows[start : start + BATCH_PART_ROWS], first_row=start + 1)
        except InterfaceError as exc:
            failure = exc
            break
        parts.append(Request(statement.columns))
        unsent.append(parts[-1])
        yield SendQueued(*unsent)
        unsent.clear()
    if unsent:
        yield SendQueued(*unsent)
    closing = Request()
    client.query(end if failure is None else undo)
    yield closing  # every part answered (and, after a failure, undone)
    for request in parts:
        request.raise_error()  # the first failure, in the server's order
    if failure is not None:
        raise failure
    closing.raise_error()


def listen(session: Session, channel: str, callback: ChannelCallback) -> Generator[Request, None, None]:
    """Register `callback`; LISTEN if it is the channel's first. A failed LISTEN registers nothing."""
    if not session.listeners.add_listener(channel, callback):
        return
    try:
        yield from simple_query(session, f"LISTEN {quote_ident(channel)}")
    except BaseException:
        session.listeners.remove_listener(channel, callback)
        raise


def unlisten(session: Session, channel: str, callback: ChannelCallback) -> Generator[Request, None, None]:
    """Unregister `callback`; UNLISTEN if it was the channel's last."""
    if session.listeners.remove_listener(channel, callback):
        yield from simple_query(session, f"UNLISTEN {quote_ident(channel)}")


def command(session: Session, query: str, args: Sequence[object]) -> Generator[Request, None, str]:
    """`execute()`: the command tag; with no args, `query` may hold several statements (simple Query)."""
    if args:
        request = yield from execute(session, query, args)
    else:
        request = yield from simple_query(session, query)
    return tag_of(request)


def fetch(session: Session, query: str, args: Sequence[object]) -> Generator[Request, None, list[Record]]:
    """`fetch()`: every row as a Record."""
    request = yield from execute(session, query, args)
    return request.records()


def fetchrow(session: Session, query: str, args: Sequence[object]) -> Generator[Request, None, Record | None]:
    """`fetchrow()`: the first row as a Record, or None."""
    request = yield from execute(session, query, args)
    return first_record(request)


def fetchval(
    session: Session, query: str, args: Sequence[object], column: int
) -> Generator[Request, None, object]:
    """`fetchval()`: one value of the first row, or None."""
    request = yield from execute(session, query, args)
    return value_of(request, column)


def tag_of(request: Request) -> str:
    """`execute()`'s result: the (last) command tag."""
    return request.command_tag or ""


def first_record(request: Request) -> Record | None:
    """`fetchrow()`'s result: the first row as a Record, or None."""
    return Record(request.rows[0], columns_of(request.columns)) if request.rows else None


def value_of(request: Request, column: int) -> object:
    """`fetchval()`'s result: one value of the first row, or None."""
    return request.rows[0][column] if request.rows else None  # no Record: rtt's hot path (issue 6)


def _is_stale(error: BaseException | None) -> bool:
    return (
        isinstance(error, PostgresError)
        and error.sqlstate == _STALE_STATEMENT[0]
        and _STALE_STATEMENT[1] in str(error.notice.message)
    )


def _forget(session: Session, query: str) -> None:
    name = session.statements.discard(query)
    if name:
        session.client.close_statement(name, sync=False)
