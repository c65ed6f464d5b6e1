"""The SQL of a `transaction()` block: BEGIN / COMMIT / ROLLBACK, or a savepoint when nested."""

from __future__ import annotations

from typing import Final

from ..errors import InterfaceError
from ._operations import Session

_ISOLATION: Final = {
    "serializable": "SERIALIZABLE",
    "repeatable_read": "REPEATABLE READ",
    "read_committed": "READ COMMITTED",
    "read_uncommitted": "READ UNCOMMITTED",
}


class TransactionPlan:
    """What to send to start, commit and roll back one transaction block.

    Args:
        depth: how many blocks are already open on the connection (0: this one is the outermost).
        isolation: None (the server's default) or one of serializable, repeatable_read,
            read_committed, read_uncommitted.
        readonly, deferrable: the transaction modes of BEGIN.

    Raises:
        InterfaceError: an unknown isolation level, or modes on a nested block (savepoints have none).
    """

    def __init__(self, depth: int, isolation: str | None = None, readonly: bool = False, deferrable: bool = False):
        if isolation is not None and isolation not in _ISOLATION:
            raise InterfaceError(f"unknown isolation level {isolation!r}; expected one of {sorted(_ISOLATION)}")
        self.depth = depth
        if depth:
            if isolation is not None or readonly or deferrable:
                raise InterfaceError("a nested transaction cannot set isolation, readonly or deferrable")
            savepoint = f"pgproto_savepoint_{depth}"
            self.start_sql = f"SAVEPOINT {savepoint}"
            self.commit_sql = f"RELEASE SAVEPOINT {savepoint}"
            self.rollback_sql = f"ROLLBACK TO SAVEPOINT {savepoint}"
            return
        modes = []
        if isolation is not None:
            modes.append(f"ISOLATION LEVEL {_ISOLATION[isolation]}")
        if readonly:
            modes.append("READ ONLY")
        if deferrable:
            modes.append("DEFERRABLE")
        self.start_sql = " ".join(["BEGIN", *modes]) if not modes else "BEGIN " + ", ".join(modes)
        self.commit_sql = "COMMIT"
        self.rollback_sql = "ROLLBACK"


class TransactionBlock:
    """The bookkeeping of one `transaction()` block; the driver sends the SQL it returns.

    Raises:
        InterfaceError: started twice, or finished when not started.
    """

    def __init__(self, session: Session, isolation: str | None, readonly: bool, deferrable: bool) -> None:
        self._session = session
        self._options = (isolation, readonly, deferrable)
        self._plan: TransactionPlan | None = None

    def begin(self) -> str:
        """The statement that opens the block (BEGIN, or SAVEPOINT when nested); counts it as open."""
        if self._plan is not None:
            raise InterfaceError("this transaction was already started")
        self._plan = TransactionPlan(self._session.transaction_depth, *self._options)
        self._session.transaction_depth += 1
        return self._plan.start_sql

    def end(self, *, commit: bool) -> str:
        """The statement that closes the block (COMMIT / RELEASE, or ROLLBACK); counts it as closed."""
        plan = self._plan
        if plan is None:
            raise InterfaceError("this transaction is not active")
        self._plan = None
        self._session.transaction_depth -= 1
        return plan.commit_sql if commit else plan.rollback_sql
