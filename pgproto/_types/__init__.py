"""Value codecs: Python values <-> the text and binary forms of PostgreSQL's built-in types.

One module per family (numeric, text, datetime, misc, array), the OID registry in _registry, OIDs in oids.
"""

from ._common import BINARY_FORMAT, TEXT_FORMAT, Decoder, Encoder, FixedBinary
from ._registry import decoder, encoder, fixed_binary, infer_oid, result_format
from .literal import text_encode

__all__ = [
    "BINARY_FORMAT",
    "TEXT_FORMAT",
    "Decoder",
    "Encoder",
    "FixedBinary",
    "decoder",
    "encoder",
    "fixed_binary",
    "infer_oid",
    "result_format",
    "text_encode",
]
