"""The fast event constructors (`pgproto._slots`) build the same objects as the classes' own __init__."""

from __future__ import annotations

import pickle
from dataclasses import FrozenInstanceError, dataclass
from dataclasses import fields as dataclass_fields
from typing import Any

import pytest

from pgproto import events as ev
from pgproto._slots import slot_constructor


@pytest.mark.parametrize(
    ("cls", "fields"),
    [
        (ev.Rows, ([(1, "a"), (2, None)],)),
        (ev.QueryComplete, ("SELECT 2", "SELECT $1", (5,), 0.25)),
        (ev.Notification, (4242, "jobs", "payload")),
    ],
)
def test_same_object_as_the_class_builds(cls: Any, fields: tuple[object, ...]) -> None:
    fast: object = slot_constructor(cls)(*fields)
    slow = cls(*fields)
    assert type(fast) is cls
    assert fast == slow and repr(fast) == repr(slow)
    if cls is not ev.Rows:  # Rows holds a list: unhashable, like the class-built one
        assert hash(fast) == hash(slow)
    assert pickle.loads(pickle.dumps(fast)) == slow
    with pytest.raises(FrozenInstanceError):
        fast.__setattr__(dataclass_fields(cls)[0].name, None)


def test_a_class_that_checks_its_fields_is_refused() -> None:
    @dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    with pytest.raises(TypeError, match="Checked checks its fields"):
        slot_constructor(Checked)
