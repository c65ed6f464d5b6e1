"""`Connection.transaction()`: BEGIN / COMMIT / ROLLBACK (savepoints when nested) around an `async with` block."""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import TYPE_CHECKING

import anyio

from pgproto import ConnectionDoesNotExistError
from pgproto._shared._transactions import TransactionBlock

if TYPE_CHECKING:
    from ._connection import Connection


class Transaction:
    """`async with conn.transaction():` — BEGIN, then COMMIT, or ROLLBACK if the block raises."""

    def __init__(self, conn: Connection, isolation: str | None, readonly: bool, deferrable: bool) -> None:
        self._conn = conn
        self._block = TransactionBlock(conn._session, isolation, readonly, deferrable)

    async def start(self) -> None:
        """Start the transaction (or savepoint)."""
        sql = self._block.begin()
        try:
            await self._conn.execute(sql)
        except BaseException:
            self._block.end(commit=False)
            raise

    async def commit(self) -> None:
        """Commit (or release the savepoint)."""
        await self._conn.execute(self._block.end(commit=True))

    async def rollback(self) -> None:
        """Roll back (to the savepoint); nothing to do once the connection is gone."""
        sql = self._block.end(commit=False)
        if not self._conn.is_closed():
            await self._conn.execute(sql)

    async def __aenter__(self) -> Transaction:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            await self.commit()
            return
        with anyio.CancelScope(shield=True), contextlib.suppress(ConnectionDoesNotExistError):
            await self.rollback()  # the block's own exception is the one to see
