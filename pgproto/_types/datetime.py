"""Codecs for date, time, timetz, timestamp, timestamptz and interval, as asyncpg maps them to Python.

Text decoding assumes DateStyle=ISO (the core sets it) and IntervalStyle=postgres (the server's default);
TimeZone may be anything.
Years outside 1..9999 (BC dates, year 10000+) are a ValueError or OverflowError, as datetime cannot hold them.
"""

from __future__ import annotations

import struct
import sys
from datetime import date, datetime, time, timedelta, timezone
from typing import Final

from ._common import I32, I64, INT64_MAX, INT64_MIN, type_name

UTC: Final = timezone.utc

# Binary forms count from 2000-01-01 (date: days as int32; timestamps: microseconds as int64) and mark
# +/-infinity with the extreme integers (datatype/timestamp.h: DT_NOBEGIN, DT_NOEND, DATEVAL_NOBEGIN...).
_EPOCH: Final = datetime(2000, 1, 1)
_EPOCH_UTC: Final = datetime(2000, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL: Final = date(2000, 1, 1).toordinal()
_DATE_PINF: Final = 2**31 - 1
_DATE_NINF: Final = -(2**31)

# asyncpg maps 'infinity' / '-infinity' to the extreme Python values, and those values back to infinity.
_MAX_DATETIME_UTC: Final = datetime.max.replace(tzinfo=UTC)
_MIN_DATETIME_UTC: Final = datetime.min.replace(tzinfo=UTC)
_MAX_ORDINAL: Final = date.max.toordinal()
_MIN_ORDINAL: Final = date.min.toordinal()
_ONE_MICROSECOND: Final = timedelta(microseconds=1)
_MAX_TIMESTAMP_US: Final = (datetime.max - _EPOCH) // _ONE_MICROSECOND
_MIN_TIMESTAMP_US: Final = (datetime.min - _EPOCH) // _ONE_MICROSECOND

_unpack_i32 = I32.unpack
_unpack_i64 = I64.unpack
_pack_i32 = I32.pack
_pack_i64 = I64.pack
_from_ordinal = date.fromordinal
_date_from_iso = date.fromisoformat
_datetime_from_iso = datetime.fromisoformat
_time_from_iso = time.fromisoformat

_BINARY_DATE_PINF: Final = _pack_i32(_DATE_PINF)
_BINARY_DATE_NINF: Final = _pack_i32(_DATE_NINF)
_BINARY_PINF: Final = _pack_i64(INT64_MAX)
_BINARY_NINF: Final = _pack_i64(INT64_MIN)


def _infinity(text: str, positive: object, negative: object) -> object:
    """The value for a text 'infinity' / '-infinity', or ValueError for anything else."""
    if text == "infinity":
        return positive
    if text == "-infinity":
        return negative
    raise ValueError(f"invalid date/time value {text[:40]!r}")


def _pad_fraction(text: str, full_length: int) -> str:
    """Pad a fraction of 1-5 digits to 6: Python 3.10's fromisoformat reads only 3 or 6 (the server trims zeros)."""
    if full_length - 6 < len(text) < full_length:
        return text.ljust(full_length, "0")
    return text


# --- date -----------------------------------------------------------------------------------------------------


def date_from_binary(data: bytes) -> object:
    days: int = _unpack_i32(data)[0]
    try:
        return _from_ordinal(days + _EPOCH_ORDINAL)
    except (ValueError, OverflowError):
        if days == _DATE_PINF:
            return date.max
        if days == _DATE_NINF:
            return date.min
        raise


def date_from_text(data: bytes) -> object:
    text = data.decode()
    try:
        return _date_from_iso(text)
    except ValueError:
        return _infinity(text, date.max, date.min)


def _as_date_ordinal(value: object) -> int:
    if isinstance(value, date):  # a datetime is a date too; asyncpg takes its date part
        return value.toordinal()
    raise TypeError(f"expected datetime.date, got {type_name(value)}")


def date_to_binary(value: object) -> bytes:
    ordinal = _as_date_ordinal(value)
    if ordinal == _MAX_ORDINAL:
        return _BINARY_DATE_PINF
    if ordinal == _MIN_ORDINAL:
        return _BINARY_DATE_NINF
    return _pack_i32(ordinal - _EPOCH_ORDINAL)


def date_to_text(value: object) -> bytes:
    ordinal = _as_date_ordinal(value)
    if ordinal == _MAX_ORDINAL:
        return b"infinity"
    if ordinal == _MIN_ORDINAL:
        return b"-infinity"
    return _from_ordinal(ordinal).isoformat().encode()


# --- timestamp ------------------------------------------------------------------------------------------------


def timestamp_from_binary(data: bytes) -> object:
    microseconds: int = _unpack_i64(data)[0]
    try:
        return _EPOCH + _ONE_MICROSECOND * microseconds  # faster than timedelta(0, 0, microseconds)
    except OverflowError:
        if microseconds == INT64_MAX:
            return datetime.max
        if microseconds == INT64_MIN:
            return datetime.min
        raise


def timestamp_from_text(data: bytes) -> object:
    text = data.decode()
    try:
        return _datetime_from_iso(_pad_fraction(text, 26))
    except ValueError:
        return _infinity(text, datetime.max, datetime.min)


def _as_naive_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            # Same exception type as asyncpg (which fails subtracting a naive epoch from an aware value).
            raise TypeError("expected a naive datetime for timestamp, got an aware one (use timestamptz)")
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    raise TypeError(f"expected datetime.datetime or datetime.date, got {type_name(value)}")


def _pack_microseconds(microseconds: int) -> bytes:
    # asyncpg's rule: the microsecond count of datetime.max / datetime.min is written as +/-infinity.
    if microseconds == _MAX_TIMESTAMP_US:
        return _BINARY_PINF
    if microseconds == _MIN_TIMESTAMP_US:
        return _BINARY_NINF
    return _pack_i64(microseconds)


def timestamp_to_binary(value: object) -> bytes:
    return _pack_microseconds((_as_naive_datetime(value) - _EPOCH) // _ONE_MICROSECOND)


def timestamp_to_text(value: object) -> bytes:
    moment = _as_naive_datetime(value)
    if moment == datetime.max:
        return b"infinity"
    if moment == datetime.min:
        return b"-infinity"
    return moment.isoformat(" ").encode()


# --- timestamptz ----------------------------------------------------------------------------------------------


def timestamptz_from_binary(data: bytes) -> object:
    return timestamptz_from_microseconds(_unpack_i64(data)[0])


def timestamptz_from_microseconds(microseconds: int) -> object:
    """The binary form's Int64 (microseconds since 2000-01-01 UTC) as an aware datetime."""
    try:
        return _EPOCH_UTC + _ONE_MICROSECOND * microseconds
    except OverflowError:
        # asyncpg returns naive datetime.max / min here; we keep the column uniformly aware.
        if microseconds == INT64_MAX:
            return _MAX_DATETIME_UTC
        if microseconds == INT64_MIN:
            return _MIN_DATETIME_UTC
        raise


def _split_offset(text: str) -> tuple[str, int]:
    """Split '... 03:04:05.5+05:30' into the local part and the offset in seconds east of UTC.

    The server prints the offset as +HH, +HH:MM or +HH:MM:SS (the last for historical local mean times).
    """
    for length in (3, 6, 9):
        sign = text[-length : 1 - length]
        if sign == "+" or sign == "-":
            break
    else:
        raise ValueError(f"no UTC offset in {text[:40]!r}")
    offset = text[-length:]
    if (length > 3 and offset[3] != ":") or (length > 6 and offset[6] != ":"):
        raise ValueError(f"invalid UTC offset {offset!r}")
    seconds = int(offset[1:3]) * 3600
    if length > 3:
        seconds += int(offset[4:6]) * 60
    if length > 6:
        seconds += int(offset[7:9])
    return text[:-length], -seconds if sign == "-" else seconds


def timestamptz_from_text_portable(data: bytes) -> object:
    """For Python 3.10, whose fromisoformat reads neither '+05' nor a fraction of 1, 2, 4 or 5 digits."""
    text = data.decode()
    try:
        local, offset = _split_offset(text)
    except ValueError:
        return _infinity(text, _MAX_DATETIME_UTC, _MIN_DATETIME_UTC)
    moment = _datetime_from_iso(_pad_fraction(local, 26))
    if offset:
        moment -= timedelta(0, offset)
    return moment.replace(tzinfo=UTC)


def timestamptz_from_text_native(data: bytes) -> object:
    """For Python 3.11+, whose fromisoformat reads every offset form the server prints (4-10x faster)."""
    text = data.decode()
    try:
        moment = _datetime_from_iso(text)
    except ValueError:
        return _infinity(text, _MAX_DATETIME_UTC, _MIN_DATETIME_UTC)
    if moment.tzinfo is None:
        raise ValueError(f"timestamptz without a UTC offset: {text[:40]!r}")
    return moment.astimezone(UTC)


timestamptz_from_text: Final = (
    timestamptz_from_text_native if sys.version_info >= (3, 11) else timestamptz_from_text_portable
)


def _as_aware_datetime(value: object) -> datetime:
    """An aware datetime. A naive datetime (or a date, at midnight) is local time, as asyncpg reads it, except
    that naive datetime.max / datetime.min stand for +/-infinity as they do for timestamp."""
    if not isinstance(value, datetime):
        if not isinstance(value, date):
            raise TypeError(f"expected datetime.datetime or datetime.date, got {type_name(value)}")
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value
    if value == datetime.max:
        return _MAX_DATETIME_UTC
    if value == datetime.min:
        return _MIN_DATETIME_UTC
    try:
        return value.astimezone(UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(f"cannot convert {value!r} from local time to UTC: {exc}") from None


def _utc_microseconds(moment: datetime) -> int:
    try:
        return (moment - _EPOCH_UTC) // _ONE_MICROSECOND
    except OverflowError:
        raise ValueError(f"timestamptz value out of range: {moment!r}") from None


def timestamptz_to_binary(value: object) -> bytes:
    return _pack_microseconds(_utc_microseconds(_as_aware_datetime(value)))


def timestamptz_to_text(value: object) -> bytes:
    moment = _as_aware_datetime(value)
    microseconds = _utc_microseconds(moment)
    if microseconds == _MAX_TIMESTAMP_US:
        return b"infinity"
    if microseconds == _MIN_TIMESTAMP_US:
        return b"-infinity"
    return moment.isoformat(" ").encode()


# --- time and timetz ------------------------------------------------------------------------------------------


def _time(microseconds: int) -> time:
    seconds, microseconds = divmod(microseconds, 1_000_000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return time(hours, minutes, seconds, microseconds)  # 24:00:00 is valid in PostgreSQL, not in Python


def time_from_binary(data: bytes) -> object:
    return _time(_unpack_i64(data)[0])


def time_from_text(data: bytes) -> object:
    return _time_from_iso(_pad_fraction(data.decode(), 15))


def _time_microseconds(value: object) -> int:
    if not isinstance(value, time):
        raise TypeError(f"expected datetime.time, got {type_name(value)}")
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


def time_to_binary(value: object) -> bytes:
    return _pack_i64(_time_microseconds(value))  # like asyncpg, a tzinfo is ignored


_TIMETZ: Final = struct.Struct("!qi")


def timetz_from_binary(data: bytes) -> object:
    # timetz_send: microseconds since midnight, then the zone as seconds WEST of UTC.
    microseconds, zone = _TIMETZ.unpack(data)
    return _time(microseconds).replace(tzinfo=timezone(timedelta(0, -zone)))


def timetz_from_text(data: bytes) -> object:
    local, offset = _split_offset(data.decode())
    return _time_from_iso(_pad_fraction(local, 15)).replace(tzinfo=timezone(timedelta(0, offset)))


def _timetz_zone(value: object) -> int:
    if not isinstance(value, time):
        raise TypeError(f"expected datetime.time, got {type_name(value)}")
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("expected an aware datetime.time for timetz, got a naive one")
    return -(offset.days * 86400 + offset.seconds)


def timetz_to_binary(value: object) -> bytes:
    return _TIMETZ.pack(_time_microseconds(value), _timetz_zone(value))


# --- interval -------------------------------------------------------------------------------------------------

_INTERVAL: Final = struct.Struct("!qii")
_unpack_interval = _INTERVAL.unpack


def _months_as_days(months: int) -> int:
    """asyncpg's rule: whole years count 365 days, the remaining months 30 days each, truncating toward zero."""
    if months < 0:
        return -_months_as_days(-months)
    years, months = divmod(months, 12)
    return years * 365 + months * 30


def interval_from_binary(data: bytes) -> object:
    # interval_send: int64 microseconds, int32 days, int32 months.
    microseconds, days, months = _unpack_interval(data)
    if months:
        days += _months_as_days(months)
    return timedelta(days, 0, microseconds)


_INTERVAL_UNITS: Final = {
    "year": 12,
    "years": 12,
    "mon": 1,
    "mons": 1,
}


def interval_from_text(data: bytes) -> object:
    """Parse IntervalStyle=postgres output: '1 year 2 mons -3 days +04:05:06.5', '-00:00:01', '00:00:00'."""
    words = data.decode().split()
    months = days = microseconds = 0
    index = 0
    while index < len(words):
        word = words[index]
        if ":" in word:
            microseconds = _interval_time(word)
            index += 1
            continue
        number = int(word)
        unit = words[index + 1]
        index += 2
        if unit == "day" or unit == "days":
            days += number
        else:
            scale = _INTERVAL_UNITS.get(unit)
            if scale is None:
                raise ValueError(f"unknown interval unit {unit[:20]!r}")
            months += number * scale
    if months:
        days += _months_as_days(months)
    return timedelta(days, 0, microseconds)


def _interval_time(word: str) -> int:
    """Microseconds of a [+-]H:MM:SS[.ffffff] word (hours may exceed 24)."""
    negative = word[:1] == "-"
    if word[:1] in "+-":
        word = word[1:]
    hours, minutes, seconds = word.split(":")
    whole, _, fraction = seconds.partition(".")
    if len(fraction) > 6:
        raise ValueError(f"interval fraction has more than 6 digits: {fraction[:20]!r}")
    total = ((int(hours) * 60 + int(minutes)) * 60 + int(whole)) * 1_000_000 + int(fraction.ljust(6, "0"))
    return -total if negative else total


def _as_timedelta(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    raise TypeError(f"expected datetime.timedelta, got {type_name(value)}")


def interval_to_binary(value: object) -> bytes:
    delta = _as_timedelta(value)
    return _INTERVAL.pack(delta.seconds * 1_000_000 + delta.microseconds, delta.days, 0)


def interval_to_text(value: object) -> bytes:
    """A literal interval_in reads exactly: days and seconds stay apart, as in the binary form."""
    delta = _as_timedelta(value)
    return f"{delta.days} days {delta.seconds} seconds {delta.microseconds} microseconds".encode()
