"""The SQL of a `transaction()` block: BEGIN / COMMIT / ROLLBACK, or a savepoint when nested."""

from __future__ import annotations

from typing import Final

from ..errors import InterfaceError

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
