"""Building the hot events (Rows, QueryComplete, Notification) by setting their slots directly.

A frozen dataclass's `__init__` sets each field through a generic `object.__setattr__`, which made
building the event about half of the core's cost for a notification and a tenth for a `SELECT 1`
(issue 6). The constructor made here stores the same values in the same slots: the object is the one
the class's own `__init__` would build (type, equality, hash, repr, pickling). It skips nothing else:
the events have no `__post_init__` and no defaults that the callers would rely on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def slot_constructor(cls: type[T]) -> Callable[..., T]:
    """`cls(*fields)` for a frozen slots dataclass with no `__post_init__`, every field passed by position."""
    names: tuple[str, ...] = cls.__slots__  # type: ignore[attr-defined]  # a slots dataclass has them
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} checks its fields: use its __init__")
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    lines = [f"def make({', '.join(f'v{i}' for i in range(len(names)))}):", "    event = new(cls)"]
    for i, name in enumerate(names):
        namespace[f"set{i}"] = getattr(cls, name).__set__  # the slot's own descriptor: no frozen check
        lines.append(f"    set{i}(event, v{i})")
    lines.append("    return event")
    # The source holds only generated names (v0, set0, ...), never a field name or other text.
    exec(compile("\n".join(lines), f"<pgproto {cls.__name__} constructor>", "exec"), namespace)
    make: Callable[..., T] = namespace["make"]
    return make
