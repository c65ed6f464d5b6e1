"""The OID registry: which decoder, encoder and result format goes with each type OID.

Tables are built once at import; the lookups the core makes per column or parameter are one dict get each.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Final
from uuid import UUID

from . import datetime as dt
from . import misc, numeric, oids, text
from ._common import BINARY_FORMAT, INT64_MAX, INT64_MIN, TEXT_FORMAT, Decoder, Encoder
from .array import array_literal, binary_array_decoder, binary_array_encoder, shape, text_array_decoder
from .literal import text_encode

_STRINGS: Final = (oids.TEXT, oids.VARCHAR, oids.BPCHAR, oids.NAME, oids.XML, oids.UNKNOWN, oids.JSON)
_INTEGERS: Final = {oids.INT2: "h", oids.INT4: "i", oids.INT8: "q", oids.OID: "I", oids.XID: "I", oids.CID: "I"}

_TEXT_DECODERS: Final[dict[int, Decoder]] = {
    **{oid: numeric.int_from_text for oid in _INTEGERS},
    oids.FLOAT4: numeric.float4_from_text,
    oids.FLOAT8: numeric.float8_from_text,
    oids.NUMERIC: numeric.numeric_from_text,
    **{oid: text.text_from_bytes for oid in _STRINGS},
    oids.JSONB: text.text_from_bytes,
    oids.CHAR: text.text_from_bytes,
    oids.BYTEA: text.bytea_from_text,
    oids.BOOL: misc.bool_from_text,
    oids.UUID: misc.uuid_from_text,
    oids.VOID: misc.void_from_bytes,
    oids.DATE: dt.date_from_text,
    oids.TIME: dt.time_from_text,
    oids.TIMETZ: dt.timetz_from_text,
    oids.TIMESTAMP: dt.timestamp_from_text,
    oids.TIMESTAMPTZ: dt.timestamptz_from_text,
    oids.INTERVAL: dt.interval_from_text,
}

_BINARY_DECODERS: Final[dict[int, Decoder]] = {
    oids.INT2: numeric.int2_from_binary,
    oids.INT4: numeric.int4_from_binary,
    oids.INT8: numeric.int8_from_binary,
    oids.OID: numeric.oid_from_binary,
    oids.XID: numeric.oid_from_binary,
    oids.CID: numeric.oid_from_binary,
    oids.FLOAT4: numeric.float4_from_binary,
    oids.FLOAT8: numeric.float8_from_binary,
    oids.NUMERIC: numeric.numeric_from_binary,
    **{oid: text.text_from_bytes for oid in _STRINGS},
    oids.JSONB: text.jsonb_from_binary,
    oids.CHAR: text.char_from_binary,
    oids.BYTEA: text.bytea_from_binary,
    oids.BOOL: misc.bool_from_binary,
    oids.UUID: misc.uuid_from_binary,
    oids.VOID: misc.void_from_bytes,
    oids.DATE: dt.date_from_binary,
    oids.TIME: dt.time_from_binary,
    oids.TIMETZ: dt.timetz_from_binary,
    oids.TIMESTAMP: dt.timestamp_from_binary,
    oids.TIMESTAMPTZ: dt.timestamptz_from_binary,
    oids.INTERVAL: dt.interval_from_binary,
}

#: Struct codes of fixed-width elements whose unpacked value is the Python value (fast binary array path).
_FIXED_WIDTH: Final = {**_INTEGERS, oids.FLOAT4: "f", oids.FLOAT8: "d"}

_ENCODERS: Final[dict[int, tuple[int, Encoder]]] = {
    oids.INT2: (BINARY_FORMAT, numeric.int2_to_binary),
    oids.INT4: (BINARY_FORMAT, numeric.int4_to_binary),
    oids.INT8: (BINARY_FORMAT, numeric.int8_to_binary),
    oids.OID: (BINARY_FORMAT, numeric.oid_to_binary),
    oids.XID: (BINARY_FORMAT, numeric.oid_to_binary),
    oids.CID: (BINARY_FORMAT, numeric.oid_to_binary),
    oids.FLOAT4: (BINARY_FORMAT, numeric.float4_to_binary),
    oids.FLOAT8: (BINARY_FORMAT, numeric.float8_to_binary),
    oids.NUMERIC: (BINARY_FORMAT, numeric.numeric_to_binary),
    oids.TEXT: (BINARY_FORMAT, text.text_to_bytes),
    oids.VARCHAR: (BINARY_FORMAT, text.text_to_bytes),
    oids.BPCHAR: (BINARY_FORMAT, text.text_to_bytes),
    oids.NAME: (BINARY_FORMAT, text.text_to_bytes),
    oids.JSON: (BINARY_FORMAT, text.text_to_bytes),
    # xml_recv honours an encoding named in the XML declaration; the text form is read as plain UTF-8.
    oids.XML: (TEXT_FORMAT, text.text_to_bytes),
    oids.JSONB: (BINARY_FORMAT, text.jsonb_to_binary),
    oids.CHAR: (BINARY_FORMAT, text.char_to_binary),
    oids.BYTEA: (BINARY_FORMAT, text.bytea_to_binary),
    oids.BOOL: (BINARY_FORMAT, misc.bool_to_binary),
    oids.UUID: (BINARY_FORMAT, misc.uuid_to_binary),
    oids.DATE: (BINARY_FORMAT, dt.date_to_binary),
    oids.TIME: (BINARY_FORMAT, dt.time_to_binary),
    oids.TIMETZ: (BINARY_FORMAT, dt.timetz_to_binary),
    oids.TIMESTAMP: (BINARY_FORMAT, dt.timestamp_to_binary),
    oids.TIMESTAMPTZ: (BINARY_FORMAT, dt.timestamptz_to_binary),
    oids.INTERVAL: (BINARY_FORMAT, dt.interval_to_binary),
}


def _text_array_encoder(element: Encoder) -> Encoder:
    def encode(value: object) -> bytes:
        return array_literal(value, element)

    return encode


for _element, _array in oids.ARRAY_OF.items():
    _TEXT_DECODERS[_array] = text_array_decoder(_TEXT_DECODERS[_element])
    _BINARY_DECODERS[_array] = binary_array_decoder(
        _element, _BINARY_DECODERS[_element], _FIXED_WIDTH.get(_element)
    )
    _format, _encoder = _ENCODERS[_element]
    if _format == BINARY_FORMAT:
        _ENCODERS[_array] = (BINARY_FORMAT, binary_array_encoder(_element, _encoder))
    else:
        _ENCODERS[_array] = (TEXT_FORMAT, _text_array_encoder(_encoder))


#: Result-column format per OID, filled in from the measurements in the table above.
_RESULT_FORMATS: Final[dict[int, int]] = {}


def result_format(oid: int) -> int:
    """The format code (TEXT_FORMAT or BINARY_FORMAT) to request for a result column of type oid."""
    return _RESULT_FORMATS.get(oid, TEXT_FORMAT)


def _binary_unchanged(data: bytes) -> object:
    return data


def decoder(oid: int, fmt: int) -> Decoder:
    """The decoder for a column of type oid sent in format fmt.

    An OID without a codec decodes to str (text format) or to the bytes unchanged (binary format).

    Raises:
        ValueError: fmt is neither TEXT_FORMAT nor BINARY_FORMAT.
    """
    if fmt == TEXT_FORMAT:
        return _TEXT_DECODERS.get(oid, text.text_from_bytes)
    if fmt == BINARY_FORMAT:
        return _BINARY_DECODERS.get(oid, _binary_unchanged)
    raise ValueError(f"unknown format code {fmt!r}")


def encoder(oid: int) -> tuple[int, Encoder]:
    """(format code, encoder) for a parameter the server declared as type oid (ParameterDescription).

    Types without a codec here, and oid 0, are sent as text made by text_encode.
    """
    return _ENCODERS.get(oid, _TEXT_ENCODE)


_TEXT_ENCODE: Final = (TEXT_FORMAT, text_encode)

#: OIDs to declare for values of these exact types (str is left to the server: unspecified).
_INFERRED: Final[Mapping[type, int]] = {
    bool: oids.BOOL,
    float: oids.FLOAT8,
    Decimal: oids.NUMERIC,
    bytes: oids.BYTEA,
    bytearray: oids.BYTEA,
    memoryview: oids.BYTEA,
    date: oids.DATE,
    timedelta: oids.INTERVAL,
    UUID: oids.UUID,
    str: oids.UNSPECIFIED,
}


def infer_oid(value: object) -> int:
    """The type OID to declare for a parameter value when the server was not asked; 0 leaves it to the server.

    bool -> bool, int -> int8 (numeric beyond int8), float -> float8, Decimal -> numeric, bytes -> bytea,
    naive datetime -> timestamp, aware -> timestamptz, date, time (timetz when aware), timedelta -> interval,
    UUID -> uuid, a list or tuple -> the array of its elements' common type; str, None and mixtures -> 0.
    """
    kind = type(value)
    oid = _INFERRED.get(kind)
    if oid is not None:
        return oid
    if isinstance(value, int):  # bool was settled by the exact-type lookup
        return oids.INT8 if INT64_MIN <= value <= INT64_MAX else oids.NUMERIC
    if isinstance(value, datetime):
        aware = value.tzinfo is not None and value.utcoffset() is not None
        return oids.TIMESTAMPTZ if aware else oids.TIMESTAMP
    if isinstance(value, time):
        return oids.TIMETZ if value.utcoffset() is not None else oids.TIME
    if isinstance(value, (list, tuple)):
        return _infer_array_oid(value)
    for base, base_oid in _INFERRED.items():  # subclasses: bool before int is already settled above
        if isinstance(value, base):
            return base_oid
    return oids.UNSPECIFIED


def _infer_array_oid(value: list[object] | tuple[object, ...]) -> int:
    try:
        _, items = shape(value)
    except ValueError:
        return oids.UNSPECIFIED  # the encoder will say what is wrong
    found = set()
    for item in items:
        if item is None:
            continue
        if isinstance(item, (list, tuple)):
            return oids.UNSPECIFIED
        found.add(infer_oid(item))
    if found == {oids.INT8, oids.NUMERIC}:
        return oids.NUMERIC_ARRAY
    if len(found) != 1:
        return oids.UNSPECIFIED
    return oids.ARRAY_OF.get(found.pop(), oids.UNSPECIFIED)
