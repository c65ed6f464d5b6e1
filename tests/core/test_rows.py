"""RowPlan: the generated row decoder reads the well-formed rows and hands every other row back (None)."""

from __future__ import annotations

import datetime
import struct
from decimal import Decimal

from pgproto._rows import MAX_PLANNED_COLUMNS, RowPlan
from pgproto._types import BINARY_FORMAT, TEXT_FORMAT, decoder, fixed_binary
from pgproto._types import oids as o

from .helpers import i32

#: int4, int8 (binary), text, bool, timestamptz (binary), numeric (text): runs, singles and converters.
TYPES = [(o.INT4, BINARY_FORMAT), (o.INT8, BINARY_FORMAT), (o.TEXT, TEXT_FORMAT), (o.BOOL, BINARY_FORMAT),
         (o.TIMESTAMPTZ, BINARY_FORMAT), (o.NUMERIC, TEXT_FORMAT)]  # fmt: skip


def plan_for(types: list[tuple[int, int]]) -> RowPlan:
    return RowPlan(
        [decoder(oid, fmt) for oid, fmt in types],
        [fixed_binary(oid) if fmt == BINARY_FORMAT else None for oid, fmt in types],
    )


def values(*raw: bytes | None) -> bytes:
    """A DataRow's values part (after the column count)."""
    return b"".join(i32(-1) if v is None else i32(len(v)) + v for v in raw)


def decode(plan: RowPlan, body: bytes) -> tuple[object, ...] | None:
    data = b"junk" + body + b"next message"  # the row sits inside a larger buffer
    return plan.decode(data, 4, 4 + len(body))


WELL_FORMED = values(
    struct.pack("!i", 7), struct.pack("!q", -8), b"text", b"\x01", struct.pack("!q", 86_400_000_000), b"12.50"
)


def test_a_well_formed_row() -> None:
    row = decode(plan_for(TYPES), WELL_FORMED)
    utc = datetime.timezone.utc
    assert row == (
        7,
        -8,
        "text",
        True,
        datetime.datetime(2000, 1, 2, tzinfo=utc),
        Decimal("12.50"),
    )


def test_null_in_a_variable_column_is_decoded() -> None:
    body = values(struct.pack("!i", 7), struct.pack("!q", 1), None, b"\x00", struct.pack("!q", 0), None)
    row = decode(plan_for(TYPES), body)
    assert row is not None and row[2] is None and row[3] is False and row[5] is None


def test_unusual_rows_are_handed_back() -> None:
    plan = plan_for(TYPES)
    null_in_run = values(None, struct.pack("!q", 1), b"t", b"\x01", struct.pack("!q", 0), b"1")
    wrong_width = values(struct.pack("!h", 7), struct.pack("!q", 1), b"t", b"\x01", struct.pack("!q", 0), b"1")
    bad_bool = values(struct.pack("!i", 7), struct.pack("!q", 1), b"t", b"\x02", struct.pack("!q", 0), b"1")
    bad_numeric = values(struct.pack("!i", 7), struct.pack("!q", 1), b"t", b"\x01", struct.pack("!q", 0), b"x")
    # Cut where the text column's length word (read with the int4/int8 run before it) starts, and within it.
    after_run, in_length = WELL_FORMED[:20], WELL_FORMED[:22]
    cuts = (after_run, in_length, WELL_FORMED[:-1], WELL_FORMED + b"\0")
    for body in (null_in_run, wrong_width, bad_bool, bad_numeric, *cuts):
        assert decode(plan, body) is None, body


def test_no_columns_and_too_many_columns() -> None:
    assert decode(plan_for([]), b"") == ()
    wide = plan_for([(o.INT4, BINARY_FORMAT)] * (MAX_PLANNED_COLUMNS + 1))
    assert decode(wide, values(*[struct.pack("!i", 1)] * (MAX_PLANNED_COLUMNS + 1))) is None


def test_plans_are_compiled_once_per_column_types() -> None:
    assert plan_for(TYPES).decode is plan_for(TYPES).decode
