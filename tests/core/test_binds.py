"""The planned Bind encoder (pgproto/_binds.py) gives byte for byte the Bind of the careful path, and
hands everything else to it: a wrong argument count, a value an encoder refuses, too many parameters."""

from __future__ import annotations

import datetime
import enum
import uuid
from decimal import Decimal

import pytest

from pgproto import ArgumentError, Client, InterfaceError
from pgproto import _frontend as f
from pgproto._binds import MAX_PLANNED_PARAMETERS
from pgproto._types import oids as o

from .helpers import drain, parameter_description, ready, ready_client

PARAMETERS = (o.INT4, o.INT8, o.TEXT, o.BOOL, o.FLOAT8, o.BYTEA, o.NUMERIC, o.TIMESTAMPTZ, o.UUID, o.JSONB)
UTC = datetime.timezone.utc
ROWS: list[tuple[object, ...]] = [
    (1, 2**40, "text", True, 1.5, b"\x00\xff", Decimal("12.34"), datetime.datetime(2026, 1, 2, tzinfo=UTC),
     uuid.UUID(int=7), '{"a": [1, null]}'),
    (None,) * len(PARAMETERS),
    (-(2**31), -(2**63), "", False, float("-inf"), b"", Decimal("-0"), datetime.datetime.min.replace(tzinfo=UTC),
     uuid.UUID(int=0), "[]"),
]


def prepared(*parameter_oids: int) -> Client:
    client = ready_client()
    client.prepare("s", "SELECT ...")
    client.data_to_send()
    client.receive_data(b"1\0\0\0\4" + parameter_description(*parameter_oids) + b"n\0\0\0\4" + ready())
    drain(client)
    return client


def careful(client: Client, args: tuple[object, ...]) -> bytes:
    """The Bind as the careful path writes it."""
    st = client._statements["s"]
    head, tail = st.planned_bind()
    return f.bind_values(head, client._encode_args(st, args), tail)


@pytest.mark.parametrize("row", ROWS, ids=["values", "nulls", "edges"])
def test_the_planned_bind_is_the_careful_one(row: tuple[object, ...]) -> None:
    client = prepared(*PARAMETERS)
    planned = client._statements["s"].bind(row)
    assert planned is not None
    assert planned == careful(client, row)


def test_no_parameters() -> None:
    client = prepared()
    st = client._statements["s"]
    assert st.bind(()) == careful(client, ())
    assert st.bind((1,)) is None  # a wrong count: the careful path says so


def test_anything_unusual_goes_to_the_careful_path() -> None:
    client = prepared(o.INT4, o.TEXT)
    st = client._statements["s"]
    assert st.bind((1,)) is None
    assert st.bind((1, "a", 2)) is None
    assert st.bind(("one", "a")) is None
    assert st.bind((2**31, "a")) is None
    with pytest.raises(InterfaceError, match="expects 2 arguments, got 1"):
        client.execute_prepared("s", (1,))
    with pytest.raises(ArgumentError, match=r"\$1"):
        client.execute_prepared("s", ("one", "a"))
    with pytest.raises(ArgumentError, match=r"row 2: .*\$1"):
        client.execute_prepared_many("s", [(1, "a"), (2**31, "b")])
    assert client.data_to_send() == b""  # nothing of the refused requests was queued


def test_a_statement_with_more_parameters_than_planned_is_still_bound() -> None:
    count = MAX_PLANNED_PARAMETERS + 1
    client = prepared(*[o.INT4] * count)
    st = client._statements["s"]
    args = tuple(range(count))
    assert st.bind(args) is None
    client.execute_prepared("s", args)
    assert client.data_to_send().startswith(careful(client, args))


class Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize(("oid", "bits"), [(o.INT2, 16), (o.INT4, 32), (o.INT8, 64)], ids=["int2", "int4", "int8"])
def test_integers_are_packed_with_their_length_up_to_their_limits(oid: int, bits: int) -> None:
    # An int is packed with its length word in one call; an IntEnum goes through the encoder.
    client = prepared(oid, oid)
    st = client._statements["s"]
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    for row in [(low, high), (0, -1), (Level.HIGH, 5), (None, 5)]:
        assert st.bind(row) == careful(client, row)
    for wrong, complaint in ((low - 1, "out of range"), (high + 1, "out of range"), (True, "got bool")):
        assert st.bind((wrong, 1)) is None
        with pytest.raises(ArgumentError, match=rf"\$1: {wrong}.*{complaint}"):
            client.execute_prepared("s", (wrong, 1))
