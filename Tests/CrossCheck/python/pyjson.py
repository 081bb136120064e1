"""Python's proto3 JSON, with two of its own defects worked around so it can judge Swift's.

1. `json.loads("-0")` is the integer 0, so Python's parser loses the sign of a float field
   written `-0` (as C++, upb and Swift write negative zero; Python itself writes `-0.0`).
   `parse` reads integer literals `-0` as the float -0.0, which every integer field still takes
   as 0.
2. Python rejects a float field whose JSON number, read as a double, is beyond FLT_MAX, even
   when it rounds to FLT_MAX as a float: `3.4028235e+38`, the shortest text of FLT_MAX and what
   Python's own `MessageToJson` prints, does not parse back ("Float value too large"). `parse`
   lets such numbers through, rounded to ±FLT_MAX; anything past the rounding boundary is still
   rejected.
"""

import json
import math
import struct

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor as FD

FLT_MAX = float.fromhex("0x1.fffffep+127")
FLT_ROUNDS_TO_INF = float.fromhex("0x1.ffffffp+127")  # the midpoint to 2^128: rounds to inf

# A private function of json_format (protobuf 4.21 to 7.x); without it, fix 2 is simply off.
_python_convert_float = getattr(json_format, "_ConvertFloat", None)


def _convert_float(value, field):
    if field.cpp_type == FD.CPPTYPE_FLOAT and not isinstance(value, bool):
        number = None
        if isinstance(value, (int, float)):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                number = None
        if number is not None and not math.isinf(number) and FLT_MAX < abs(number) < FLT_ROUNDS_TO_INF:
            value = math.copysign(FLT_MAX, number)
    return _python_convert_float(value, field)


if _python_convert_float is not None:
    json_format._ConvertFloat = _convert_float


def _parse_int(text):
    return -0.0 if text == "-0" else int(text)


def loads(text):
    """JSON text to Python values, as json_format does it (duplicate keys are errors)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return json.loads(text, parse_int=_parse_int, object_pairs_hook=json_format._DuplicateChecker)


def parse(text, message):
    """json_format.Parse, with the two fixes above."""
    try:
        obj = loads(text)
    except Exception as e:  # noqa: BLE001 - mirrors json_format.Parse
        raise json_format.ParseError(f"Failed to load JSON: {e}") from e
    return json_format.ParseDict(obj, message)


def equivalent(a, b, path="$"):
    """None if two JSON values are the same up to whitespace, key order and number spelling.

    Numbers are the same if equal as doubles or, for float fields printed with float
    precision, equal once rounded to float32. Returns a description of the first difference.
    """
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{path}: keys {sorted(a.keys() ^ b.keys())} in only one of them"
        for k in a:
            d = equivalent(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} elements"
        for i, (x, y) in enumerate(zip(a, b)):
            d = equivalent(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if _is_number(a) and _is_number(b):
        if float(a) == float(b) and math.copysign(1, float(a)) == math.copysign(1, float(b)):
            return None
        if _as_float32(a) == _as_float32(b):
            return None
        return f"{path}: {a!r} vs {b!r}"
    if type(a) is type(b) and a == b:
        return None
    return f"{path}: {a!r} vs {b!r}"


def _is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _as_float32(x):
    try:
        return struct.unpack("<f", struct.pack("<f", float(x)))[0]
    except OverflowError:
        return math.copysign(math.inf, float(x))
