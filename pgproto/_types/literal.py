"""text_encode: the text form of any supported Python value, for parameters of unknown or unspecified type.

The server parses the text with the input function of whatever type it settles on, so the forms here are the
ones every input function reads (ISO dates, 'NaN' / 'Infinity', '\\x' hex, quoted array elements).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Final, SupportsIndex
from uuid import UUID

from .array import array_literal
from .datetime import date_to_text, interval_to_text, timestamp_to_text, timestamptz_to_text
from .misc import bool_to_text, uuid_to_text
from .numeric import as_float, as_int, numeric_to_text
from .text import bytea_to_text, text_to_bytes


def _int_to_text(value: object) -> bytes:
    return str(as_int(value)).encode()


def _float_to_text(value: object) -> bytes:
    number = as_float(value)
    if math.isfinite(number):
        return repr(number).encode()  # the shortest text that reads back as the same double
    if number != number:
        return b"NaN"
    return b"Infinity" if number > 0 else b"-Infinity"  # float8in and numeric_in both read these


def _datetime_to_text(value: object) -> bytes:
    if isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None:
        return timestamptz_to_text(value)
    return timestamp_to_text(value)  # the server reads a naive literal in its own TimeZone


def _time_to_text(value: object) -> bytes:
    if isinstance(value, time):
        return value.isoformat().encode()
    raise TypeError(f"expected datetime.time, got {type(value).__name__}")


def _array_to_text(value: object) -> bytes:
    return array_literal(value, text_encode)


#: Exact types first: one dict lookup instead of an isinstance ladder for the common case.
_BY_TYPE: Final[dict[type, Callable[[object], bytes]]] = {
    str: text_to_bytes,
    bool: bool_to_text,
    int: _int_to_text,
    float: _float_to_text,
    Decimal: numeric_to_text,
    bytes: bytea_to_text,
    bytearray: bytea_to_text,
    memoryview: bytea_to_text,
    datetime: _datetime_to_text,
    date: date_to_text,
    time: _time_to_text,
    timedelta: interval_to_text,
    UUID: uuid_to_text,
    list: _array_to_text,
    tuple: _array_to_text,
}

#: Subclasses, in an order where a subclass comes before its base (bool before int, datetime before date).
_BY_BASE: Final[tuple[tuple[type | tuple[type, ...], Callable[[object], bytes]], ...]] = (
    (str, text_to_bytes),
    (bool, bool_to_text),
    (int, _int_to_text),
    (float, _float_to_text),
    (Decimal, numeric_to_text),
    ((bytes, bytearray, memoryview), bytea_to_text),
    (datetime, _datetime_to_text),
    (date, date_to_text),
    (time, _time_to_text),
    (timedelta, interval_to_text),
    (UUID, uuid_to_text),
    ((list, tuple), _array_to_text),
)


def text_encode(value: object) -> bytes:
    """Text-format encoding of a Python value, for a parameter whose type has no binary encoder here.

    bool -> t/f; int, float, Decimal -> digits (NaN, Infinity, -Infinity); str -> UTF-8; bytes -> \\x + hex;
    date, time, datetime -> ISO 8601 (date.max / datetime.max -> infinity, as asyncpg); timedelta -> an interval
    literal; UUID -> its str; list / tuple -> an array literal with every element quoted and None as NULL.

    Raises:
        TypeError: None (the caller sends NULL itself) or a type with no text form.
        ValueError: a non-rectangular or too deep list, or a value out of range.
    """
    encode = _BY_TYPE.get(type(value))
    if encode is not None:
        return encode(value)
    if value is None:
        raise TypeError("None has no text form: send NULL instead")
    for base, encode in _BY_BASE:
        if isinstance(value, base):
            return encode(value)
    if isinstance(value, SupportsIndex):  # numpy integers and the like
        return _int_to_text(value)
    raise TypeError(f"cannot encode {type(value).__name__} as a PostgreSQL value")
