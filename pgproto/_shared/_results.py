"""Record, and Request: one request's events folded into rows and a command tag, or an exception."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import overload

from .. import events as ev
from ..errors import InterfaceError, PostgresError


class Record:
    """One result row: by position (`r[0]`), by column name (`r["name"]`), and like a read-only mapping
    (`keys()`, `values()`, `items()`, `get()`, `dict(r)`, `name in r`). Iterating yields the values, as
    asyncpg does.
    """

    __slots__ = ("_columns", "_values")

    def __init__(self, values: tuple[object, ...], columns: Columns) -> None:
        self._values = values
        self._columns = columns

    @overload
    def __getitem__(self, key: int | str) -> object: ...
    @overload
    def __getitem__(self, key: slice) -> tuple[object, ...]: ...
    def __getitem__(self, key: int | str | slice) -> object:
        if isinstance(key, str):
            try:
                return self._values[self._columns.index[key]]
            except KeyError:
                raise KeyError(key) from None
        return self._values[key]

    def get(self, key: str, default: object = None) -> object:
        """The value of column `key`, or `default` when there is no such column."""
        position = self._columns.index.get(key)
        return default if position is None else self._values[position]

    def keys(self) -> Iterator[str]:
        """The column names, in order."""
        return iter(self._columns.names)

    def values(self) -> Iterator[object]:
        """The values, in order."""
        return iter(self._values)

    def items(self) -> Iterator[tuple[str, object]]:
        """(column name, value) pairs, in order."""
        return zip(self._columns.names, self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[object]:
        return iter(self._values)

    def __contains__(self, name: object) -> bool:
        # asyncpg: `name in record` asks for a column name, as for a mapping.
        return name in self._columns.index

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record):
            return self._values == other._values
        if isinstance(other, tuple):
            return self._values == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values)

    def __repr__(self) -> str:
        fields = " ".join(f"{name}={value!r}" for name, value in self.items())
        return f"<Record {fields}>"


class Columns:
    """The column names of a result, shared by all its Records; by name, the first duplicate wins."""

    __slots__ = ("index", "names")

    def __init__(self, columns: tuple[ev.Column, ...]) -> None:
        self.names = tuple(column.name for column in columns)
        self.index: dict[str, int] = {}
        for position, name in enumerate(self.names):
            self.index.setdefault(name, position)


#: Columns by the identity of the column tuple they describe. A prepared statement's columns are one tuple
#: for all its executions, so fetchrow() in a loop builds the name index once (issue 6: rebuilt per call,
#: it showed in rtt's profile). The tuple is kept with its Columns so that its id cannot be reused.
_COLUMNS_BY_ID: dict[int, tuple[tuple[ev.Column, ...], Columns]] = {}
_COLUMNS_BY_ID_MAX = 256


def columns_of(columns: tuple[ev.Column, ...]) -> Columns:
    """The Columns for `columns`, shared with earlier results of the same statement."""
    entry = _COLUMNS_BY_ID.get(id(columns))
    if entry is not None and entry[0] is columns:
        return entry[1]
    result = Columns(columns)
    if len(_COLUMNS_BY_ID) >= _COLUMNS_BY_ID_MAX:
        _COLUMNS_BY_ID.clear()  # e.g. many simple queries, each with new column tuples
    _COLUMNS_BY_ID[id(columns)] = (columns, result)
    return result


class Request:
    """What one Sync or simple Query produced, up to its ReadyForQuery.

    The driver appends it to the Router's queue when it sends the request, and waits for `done`;
    `on_done` (if set) is called once it is.
    """

    __slots__ = (
        "columns",
        "command_tag",
        "copy_in",
        "done",
        "error",
        "in_flight",
        "on_done",
        "prepared",
        "rows",
    )

    def __init__(self, columns: tuple[ev.Column, ...] = ()) -> None:
        self.columns = columns
        self.rows: list[tuple[object, ...]] = []
        self.command_tag: str | None = None
        self.error: BaseException | None = None
        self.prepared: ev.StatementPrepared | None = None
        self.copy_in: ev.CopyInResponse | None = None
        self.done = False
        #: In the Router's queue: its first bytes have been sent (see SendQueued).
        self.in_flight = False
        self.on_done: Callable[[], None] | None = None

    def feed(self, event: ev.Event) -> None:
        """Fold one event of this request in; its rows, command tags and end (Rows, QueryComplete,
        ReadyForQuery) are folded in by `ConnectionBase._route_ready` itself."""
        match event:
            case ev.RowDescription():
                if not self.rows:  # keep the first result's columns for a multi-statement Query
                    self.columns = event.columns
            case ev.QueryFailed():
                if self.error is None:
                    self.error = PostgresError.from_notice(event.error)
            case ev.DecodeFailed():
                if self.error is None:
                    self.error = InterfaceError(
                        f"cannot decode column {event.column!r} (type oid {event.type_oid}): {event.message}"
                    )
            case ev.StatementPrepared():
                self.prepared = event
            case ev.CopyInResponse():
                self.copy_in = event
            case _:
                pass

    def finish(self) -> None:
        """ReadyForQuery arrived: the request is answered."""
        self.done = True
        if self.on_done is not None:
            self.on_done()

    def fail(self, error: BaseException) -> None:
        """The connection ended before the answer: the request ends with `error`."""
        if self.error is None:
            self.error = error
        self.finish()

    def raise_error(self) -> None:
        """Raise the request's error, if it has one."""
        if self.error is not None:
            raise self.error

    def records(self) -> list[Record]:
        """The rows as Records (raising the request's error instead, if any)."""
        self.raise_error()
        columns = columns_of(self.columns)
        return [Record(row, columns) for row in self.rows]


class SendQueued:
    """Yielded by an operation that has queued `requests` and goes on queuing more (a large executemany
    sent in parts): the driver sends what is queued now and resumes the operation at once, so that the
    server works while the rest is encoded. The operation waits for all by yielding its last request."""

    __slots__ = ("requests",)

    def __init__(self, *requests: Request) -> None:
        self.requests = requests
