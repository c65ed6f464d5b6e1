"""Named OIDs of the built-in types we encode and decode, and the element <-> array OID maps.

Values are from PostgreSQL's pg_type.dat; they are fixed across server versions. Nothing here imports codecs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

#: Unspecified: lets the server infer a parameter's type.
UNSPECIFIED: Final = 0

BOOL: Final = 16
BYTEA: Final = 17
CHAR: Final = 18
NAME: Final = 19
INT8: Final = 20
INT2: Final = 21
INT4: Final = 23
TEXT: Final = 25
OID: Final = 26
XID: Final = 28
CID: Final = 29
JSON: Final = 114
XML: Final = 142
FLOAT4: Final = 700
FLOAT8: Final = 701
UNKNOWN: Final = 705
BPCHAR: Final = 1042
VARCHAR: Final = 1043
DATE: Final = 1082
TIME: Final = 1083
TIMESTAMP: Final = 1114
TIMESTAMPTZ: Final = 1184
INTERVAL: Final = 1186
TIMETZ: Final = 1266
NUMERIC: Final = 1700
VOID: Final = 2278
UUID: Final = 2950
JSONB: Final = 3802

JSON_ARRAY: Final = 199
XML_ARRAY: Final = 143
BOOL_ARRAY: Final = 1000
BYTEA_ARRAY: Final = 1001
CHAR_ARRAY: Final = 1002
NAME_ARRAY: Final = 1003
INT2_ARRAY: Final = 1005
INT4_ARRAY: Final = 1007
TEXT_ARRAY: Final = 1009
XID_ARRAY: Final = 1011
CID_ARRAY: Final = 1012
BPCHAR_ARRAY: Final = 1014
VARCHAR_ARRAY: Final = 1015
INT8_ARRAY: Final = 1016
FLOAT4_ARRAY: Final = 1021
FLOAT8_ARRAY: Final = 1022
OID_ARRAY: Final = 1028
TIMESTAMP_ARRAY: Final = 1115
DATE_ARRAY: Final = 1182
TIME_ARRAY: Final = 1183
TIMESTAMPTZ_ARRAY: Final = 1185
INTERVAL_ARRAY: Final = 1187
NUMERIC_ARRAY: Final = 1231
TIMETZ_ARRAY: Final = 1270
UUID_ARRAY: Final = 2951
JSONB_ARRAY: Final = 3807

#: Element OID -> OID of its array type (pg_type.typarray); one array OID covers any number of dimensions.
ARRAY_OF: Final[Mapping[int, int]] = {
    BOOL: BOOL_ARRAY,
    BYTEA: BYTEA_ARRAY,
    CHAR: CHAR_ARRAY,
    NAME: NAME_ARRAY,
    INT8: INT8_ARRAY,
    INT2: INT2_ARRAY,
    INT4: INT4_ARRAY,
    TEXT: TEXT_ARRAY,
    OID: OID_ARRAY,
    XID: XID_ARRAY,
    CID: CID_ARRAY,
    JSON: JSON_ARRAY,
    XML: XML_ARRAY,
    FLOAT4: FLOAT4_ARRAY,
    FLOAT8: FLOAT8_ARRAY,
    BPCHAR: BPCHAR_ARRAY,
    VARCHAR: VARCHAR_ARRAY,
    DATE: DATE_ARRAY,
    TIME: TIME_ARRAY,
    TIMESTAMP: TIMESTAMP_ARRAY,
    TIMESTAMPTZ: TIMESTAMPTZ_ARRAY,
    INTERVAL: INTERVAL_ARRAY,
    TIMETZ: TIMETZ_ARRAY,
    NUMERIC: NUMERIC_ARRAY,
    UUID: UUID_ARRAY,
    JSONB: JSONB_ARRAY,
}

#: Array OID -> element OID (pg_type.typelem), the inverse of ARRAY_OF.
ELEMENT_OF: Final[Mapping[int, int]] = {array: element for element, array in ARRAY_OF.items()}
