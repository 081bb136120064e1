"""Oracles shared by the cross-check suites: ask a peer, compare with Python, explain failures."""

import re

from google.protobuf import json_format, unknown_fields
from google.protobuf.message import DecodeError

import lineproc
import msggen
import pyjson
import wire


def ask(peer, case, head, data):
    """One request to a peer; a crash or hang fails the case (the peer restarts for the next)."""
    try:
        return peer.request(head, data)
    except lineproc.PeerCrashed as e:
        case.fail(f"{peer.name} crashed", request=head, input=data, error=e)


def convert(peer, case, head, data):
    """A request that must succeed; returns the output bytes."""
    answer = ask(peer, case, head, data)
    if not answer.ok:
        case.fail(f"{peer.name} rejected valid input", request=head, input=data, error=answer.reason)
    return answer.data


def parse_binary(modules, case, type_name, data, what):
    """Python's parse of bytes a peer produced; failing to parse them fails the case."""
    try:
        return modules.cls(type_name).FromString(data)
    except DecodeError as e:
        case.fail(f"Python cannot parse {what}", type=type_name, bytes=data, error=e)


def parse_json(modules, case, type_name, text, what):
    try:
        return pyjson.parse(text, modules.cls(type_name)())
    except (json_format.ParseError, UnicodeDecodeError) as e:
        case.fail(f"Python cannot parse {what}", type=type_name, json=_text(text), error=e)


def expect_same(case, what, expected, got, **details):
    if msggen.canonical(expected) != msggen.canonical(got):
        case.fail(what, **details, expected=_short(expected), got=_short(got),
                  expected_bytes=msggen.canonical(expected), got_bytes=msggen.canonical(got))


def expect_bytes(case, what, expected, got, **details):
    if expected != got:
        at = next((i for i, (a, b) in enumerate(zip(expected, got)) if a != b), min(len(expected), len(got)))
        case.fail(what, **details, first_difference_at=at, expected=expected, got=got)


def python_parse_binary(modules, type_name, data):
    """(message, None) or (None, error) — for inputs that may be malformed."""
    try:
        return modules.cls(type_name).FromString(data), None
    except DecodeError as e:
        return None, e


def python_parse_json(modules, type_name, text):
    try:
        return pyjson.parse(text, modules.cls(type_name)()), None
    except Exception as e:  # noqa: BLE001 - ParseDict lets TypeError & co. through (say, for `null`)
        return None, e


# Where Python (upb) and Swift part ways on purpose. Each is excused as narrowly as it can be:
# only Swift's specific error, and only when the wire walker finds the cause in the input.
#
# 1. A varint of ten bytes whose last byte is above 1 holds more than 64 bits. upb (like C++ and
#    Java) drops the excess bits; Swift's WireReader rejects it as `malformed varint` (like Go's
#    protowire).
# 2. Field number 0 is invalid, but upb lets it through inside an unknown group (it skips groups
#    without checking their tags) and in messages that declare no fields (its empty-message path
#    keeps everything as unknown). Swift rejects it everywhere: `invalid field tag 0…7`.
# 3. (Resolved: Swift now rejects a tag longer than five bytes, as upb does.)
# 4. A map entry that carries a field upb does not expect (an unknown number, or key/value with
#    the wrong wire type) is kept whole by upb as an unknown field of the parent, and the map does
#    not get the entry. C++ (protoc --decode) and Swift add the key and value and drop the extra
#    field, as the wire spec's "a map is a repeated entry message" reading implies. Then Python
#    cannot judge the result, so Swift must only accept the input and re-encode it stably.
SWIFT_MORE_LENIENT = []
SWIFT_STRICTER = [
    (lambda reason: reason == "malformed varint", wire.VARINT_OVER_64_BITS,
     "inputs with a varint over 64 bits (upb truncates, Swift rejects)"),
    (lambda reason: reason in {f"invalid field tag {t}" for t in range(8)}, wire.FIELD_ZERO_UPB_SKIPS,
     "inputs with field number 0 where upb does not look (Swift rejects)"),
]


def upb_kept_map_entry_as_unknown(msg):
    for node in msggen.walk(msg):
        map_numbers = {f.number for f in node.DESCRIPTOR.fields if msggen.is_map(f)}
        if not map_numbers:
            continue
        for field in unknown_fields.UnknownFieldSet(node):
            if field.wire_type == 2 and field.field_number in map_numbers:
                return True
    return False


def agree_binary(modules, swift, case, type_name, data, counts=None):
    """Python and Swift must both reject `data` as `type_name`, or both accept it and mean the
    same message; Swift's re-encoding must then be Python's, byte for byte, unless a map with two
    or more entries makes the order free."""
    expected, py_error = python_parse_binary(modules, type_name, data)
    answer = ask(swift, case, f"bin2bin {type_name}", data)
    if counts is not None:
        counts["binary inputs compared for acceptance"] += 1
    if expected is None and not answer.ok:
        return "both rejected"
    if expected is None:
        found = wire.anomalies(data, modules.descriptor(type_name))
        for anomaly, label in SWIFT_MORE_LENIENT:
            if anomaly in found:
                if counts is not None:
                    counts[label] += 1
                return "deliberate difference"
        case.fail("Swift accepts binary input Python rejects", type=type_name, input=data,
                  python_error=py_error, swift_output=answer.data)
    if not answer.ok:
        found = wire.anomalies(data, expected.DESCRIPTOR)
        for matches, anomaly, label in SWIFT_STRICTER:
            if matches(answer.reason) and anomaly in found:
                if counts is not None:
                    counts[label] += 1
                return "deliberate difference"
        case.fail("Swift rejects binary input Python accepts", type=type_name, input=data,
                  swift_error=answer.reason, python_parse=_short(expected))
    if upb_kept_map_entry_as_unknown(expected):
        again = convert(swift, case, f"bin2bin {type_name}", answer.data)
        first_parse = parse_binary(modules, case, type_name, answer.data, "Swift's re-encoding")
        second_parse = parse_binary(modules, case, type_name, again, "Swift's second re-encoding")
        if msggen.canonical(first_parse) == msggen.canonical(second_parse):
            if counts is not None:
                counts["inputs with map entries upb keeps as unknown fields"] += 1
            return "deliberate difference"
        case.fail("Swift's re-encoding is not stable", type=type_name, input=data,
                  first=answer.data, second=again)
    got = parse_binary(modules, case, type_name, answer.data, "Swift's re-encoding")
    expect_same(case, "Swift decoded binary input to a different message", expected, got,
                type=type_name, input=data)
    if not msggen.has_multi_entry_map(expected):
        expect_bytes(case, "Swift re-encoded differently from Python", expected.SerializeToString(),
                     answer.data, type=type_name, input=data)
    return "both accepted"


def agree_json(modules, swift, case, type_name, text, counts=None):
    """As agree_binary, for JSON input (json2bin)."""
    expected, py_error = python_parse_json(modules, type_name, text)
    answer = ask(swift, case, f"json2bin {type_name}", text)
    if counts is not None:
        counts["JSON inputs compared for acceptance"] += 1
    if expected is None and not answer.ok:
        return "both rejected"
    if expected is None:
        case.fail("Swift accepts JSON input Python rejects", type=type_name, json=_text(text),
                  python_error=py_error, swift_output=answer.data)
    if not answer.ok:
        case.fail("Swift rejects JSON input Python accepts", type=type_name, json=_text(text),
                  swift_error=answer.reason, python_parse=_short(expected))
    got = parse_binary(modules, case, type_name, answer.data, "Swift's encoding of JSON input")
    expect_same(case, "Swift read JSON input as a different message", expected, got,
                type=type_name, json=_text(text))
    return "both accepted"


# JSON that Swift accepts and Python rejects, and why that is allowed or known.
SWIFT_JSON_LENIENCY = [
    # Both are fine by the conformance suite (FieldNameDuplicate*, OneofFieldDuplicate*: "parse
    # failure or last wins"); Python fails, Swift takes the last.
    (re.compile(r"duplicate key|should not have multiple"), None,
     "JSON with a repeated key or two oneof members (Swift: last wins)"),
]


def json_swift_not_more_lenient(modules, swift, case, type_name, text, counts):
    """For JSON of unknown validity: whatever Swift accepts, Python must accept and read the
    same way. (The other direction is not checked: Python's json_format is lenient in places.)"""
    answer = ask(swift, case, f"json2bin {type_name}", text)
    counts["mutated JSON inputs"] += 1
    if not answer.ok:
        return
    expected, py_error = python_parse_json(modules, type_name, text)
    if expected is None:
        for error_pattern, input_pattern, label in SWIFT_JSON_LENIENCY:
            if error_pattern.search(str(py_error)) and (input_pattern is None or input_pattern.search(text)):
                counts[label] += 1
                return
        case.fail("Swift accepts JSON Python rejects", type=type_name, json=_text(text),
                  python_error=py_error, swift_output=answer.data)
    got = parse_binary(modules, case, type_name, answer.data, "Swift's encoding of JSON input")
    if msggen.canonical(expected) != msggen.canonical(got) and _has_long_decimal(text):
        # Python reads an integer field written with a fraction or an exponent through a double
        # ("75969875858949203E0" becomes 75969875858949200); Swift reads it exactly.
        counts["JSON integers beyond 2^53 in decimal/exponent form (Python rounds)"] += 1
        return
    expect_same(case, "Swift read JSON input as a different message", expected, got,
                type=type_name, json=_text(text))


NUMBER = re.compile(rb"([0-9]+)(?:\.([0-9]*))?(?:[eE][+-]?[0-9]+)?")


def _has_long_decimal(text):
    """A number with a fraction or exponent whose exact value a double cannot hold (Python reads
    such integers through a double and rounds them)."""
    from decimal import Decimal, InvalidOperation
    for m in NUMBER.finditer(text):
        if m.group(0) == m.group(1):
            continue
        try:
            exact = Decimal(m.group(0).decode())
        except InvalidOperation:
            continue
        if exact.is_finite() and Decimal(float(exact)) != exact:
            return True
    return False


def _short(msg):
    text = str(msg)
    return text if len(text) < 3000 else text[:3000] + "…"


def _text(data):
    if isinstance(data, (bytes, bytearray)):
        shown = data[:3000].decode("utf-8", "backslashreplace")
        return repr(shown) + ("…" if len(data) > 3000 else "")
    return repr(data[:3000])
