"""Micro-benchmark: decode speed of the text vs the binary form of each type, per value.

Run with `PYTHONPATH=. python bench/bench_types.py`. The numbers back the choices in pgproto/_types/_registry.py.
"""

from __future__ import annotations

import timeit

from pgproto._types import BINARY_FORMAT, TEXT_FORMAT, decoder, encoder, result_format

#: (label, type oid, text form as PostgreSQL 15 prints it, binary form as hex or None). None: the binary form is made
#: by our encoder from the decoded value; for these samples that is byte for byte what the server's send function
#: gives (checked against PostgreSQL 15), except numeric's dscale. The interval keeps the server's bytes, as a
#: timedelta encodes no months.
SAMPLES: list[tuple[str, int, bytes, str | None]] = [
    ("int2", 21, b"1234", None),
    ("int4", 23, b"123456", None),
    ("int8", 20, b"1234567890123", None),
    ("oid", 26, b"123456", None),
    ("float4", 700, b"3.14159", None),
    ("float8", 701, b"3.141592653589793", None),
    ("numeric", 1700, b"12345.678", None),
    ("numeric", 1700, b"123456789012345678901234567890.123456789", None),
    ("text", 25, b"hello world", None),
    ("bytea", 17, b"\\x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", None),
    ("bool", 16, b"t", None),
    ("date", 1082, b"2024-01-02", None),
    ("time", 1083, b"12:34:56.789", None),
    ("timetz", 1266, b"12:34:56.789+05:30", None),
    ("timestamp", 1114, b"2024-01-02 03:04:05.123456", None),
    ("timestamptz", 1184, b"2024-01-02 03:04:05.123456+00", None),
    ("interval", 1186, b"1 year 2 mons 3 days 04:05:06.5", "000000036c9361a0000000030000000e"),
    ("uuid", 2950, b"12345678-1234-5678-1234-567812345678", None),
    ("json", 114, b'{"a": [1, 2, 3]}', None),
    ("jsonb", 3802, b'{"a": [1, 2, 3]}', None),
    ("char", 18, b"r", None),
    ("int2[]", 1005, b"{1,2,3,4,5,6,7,8,9,10}", None),
    ("int4[]", 1007, b"{1,2,3,4,5,6,7,8,9,10}", None),
    ("int8[]", 1016, b"{1,2,3,4,5,6,7,8,9,10}", None),
    ("oid[]", 1028, b"{1,2,3,4,5,6,7,8,9,10}", None),
    ("float4[]", 1021, b"{1.5,2.5,3.5,4.5,5.5,6.5,7.5,8.5,9.5,10.5}", None),
    ("float8[]", 1022, b"{1.5,2.5,3.5,4.5,5.5,6.5,7.5,8.5,9.5,10.5}", None),
    ("numeric[]", 1231, b"{1.5,2.5,3.5,4.5,5.5,6.5,7.5,8.5,9.5,10.5}", None),
    ("text[]", 1009, b"{alpha,beta,gamma,delta,epsilon,zeta,eta,theta,iota,kappa}", None),
    ("text[]", 1009, b'{"a b","c,d",NULL,"q\\"x"}', None),
    ("bytea[]", 1001, b'{"\\\\x0102","\\\\xabcdef"}', None),
    ("bool[]", 1000, b"{t,f,t,f,t,f,t,f,t,f}", None),
    ("date[]", 1182, b"{2024-01-01,2024-01-02,2024-01-03,2024-01-04,2024-01-05}", None),
    ("time[]", 1183, b"{12:00:00,12:00:01.5}", None),
    ("timestamp[]", 1115, b'{"2024-01-02 03:04:05","2024-01-02 03:04:06.5"}', None),
    ("timestamptz[]", 1185, b'{"2024-01-02 03:04:05+00","2024-01-02 03:04:06+00","2024-01-02 03:04:07+00"}', None),
    ("interval[]", 1187, b'{"1 day",-00:00:01}', None),
    ("uuid[]", 2951, b"{12345678-1234-5678-1234-567812345678,12345678-1234-5678-1234-567812345679}", None),
    ("jsonb[]", 3807, b'{"{\\"a\\": 1}",[]}', None),
    ("int4[]", 1007, b"{{1,2,3},{4,5,6},{7,8,9}}", None),
    ("int4[]", 1007, b"{1,NULL,3,NULL,5}", None),
]


def per_call_ns(function: object, data: bytes, number: int) -> float:
    """Best of 5 runs, in nanoseconds per call (the loop overhead of timeit is included and the same for both)."""
    timer = timeit.Timer("f(x)", globals={"f": function, "x": data})
    return min(timer.repeat(repeat=5, number=number)) / number * 1e9


def main() -> None:
    print(f"{'type':<14}{'text ns':>10}{'binary ns':>11}{'bin/text':>10}  chosen")
    for label, oid, text, binary_hex in SAMPLES:
        text_decode, binary_decode = decoder(oid, TEXT_FORMAT), decoder(oid, BINARY_FORMAT)
        text_value = text_decode(text)
        binary = bytes.fromhex(binary_hex) if binary_hex else encoder(oid)[1](text_value)
        binary_value = binary_decode(binary)
        assert text_value == binary_value or label.startswith("float"), (label, text_value, binary_value)
        number = 20_000 if label.endswith("[]") else 200_000
        text_ns = per_call_ns(text_decode, text, number)
        binary_ns = per_call_ns(binary_decode, binary, number)
        chosen = "binary" if result_format(oid) == BINARY_FORMAT else "text"
        print(f"{label:<14}{text_ns:>10.0f}{binary_ns:>11.0f}{binary_ns / text_ns:>10.2f}  {chosen}")


if __name__ == "__main__":
    main()
