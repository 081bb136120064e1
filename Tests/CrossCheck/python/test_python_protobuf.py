"""Execbox's Swift protobuf runtime against Google's Python protobuf (upb), for every message type
in proto/ and the fixtures: random messages each way, in binary and in proto3 JSON, unknown-field
preservation, and agreement on malformed and non-canonical input."""

import itertools
import re

import pytest
from google.protobuf import json_format

import checks
import msggen
import pyjson
from checks import ask, convert, expect_bytes, expect_same, parse_binary, parse_json
from msggen import MessageGen, Options, varint

FIXTURES = [
    "execbox.fixtures.v1.Scalars",
    "execbox.fixtures.v1.Maps",
    "execbox.fixtures.v1.Nested",
    "execbox.fixtures.v1.Composite",
    "execbox.fixtures.v1.Composite.Inner",
    "execbox.fixtures.v1.Composite.Inner.Deeper",
    "execbox.fixtures.v1.Presence",
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.Empty",
]


def python_json(msg, rng):
    """Python's JSON for msg, printed one of the ways a client may print it. upb orders map
    entries differently in every process, so keys are sorted whenever a map has two or more
    entries: the same seed then gives the same input."""
    return json_format.MessageToJson(
        msg,
        preserving_proto_field_name=rng.random() < 0.3,
        use_integers_for_enums=rng.random() < 0.2,
        always_print_fields_with_no_presence=rng.random() < 0.2,
        ensure_ascii=rng.random() < 0.5,
        indent=rng.choice([None, None, 0, 2]),
        sort_keys=rng.random() < 0.2 or msggen.has_multi_entry_map(msg),
    ).encode()


# -- the type lists ------------------------------------------------------------------------------


def test_swift_knows_every_message_type(swift, modules):
    swift_types = swift.lines_until("types", "END")
    missing = sorted(set(modules.all_types) - set(swift_types))
    extra = sorted(set(swift_types) - set(modules.all_types))
    assert not missing and not extra, f"only in Python: {missing}; only in Swift: {extra}"
    assert len(modules.all_types) > 100


# -- random messages, each way -------------------------------------------------------------------


def test_binary_roundtrip(type_name, modules, swift, cases, counts):
    """(a) Python binary → Swift bin2bin → Python: same message, and the same bytes whenever no
    map has two or more entries."""
    for case in cases():
        msg = MessageGen(modules, case.rng, Options()).make(type_name)
        data = msg.SerializeToString(deterministic=True)
        out = convert(swift, case, f"bin2bin {type_name}", data)
        expect_same(case, "bin2bin changed the message", msg,
                    parse_binary(modules, case, type_name, out, "Swift's bin2bin output"), input=data)
        if not msggen.has_multi_entry_map(msg):
            expect_bytes(case, "bin2bin bytes differ from Python's", data, out)
        counts["messages, Python↔Swift binary"] += 1


def test_binary_to_json(type_name, modules, swift, cases, counts):
    """(b) Python binary → Swift bin2json → Python json_format: same message; and Swift's JSON is
    Python's JSON up to whitespace, key order and number spelling."""
    for case in cases():
        msg = MessageGen(modules, case.rng, Options(json=True)).make(type_name)
        data = msg.SerializeToString(deterministic=True)
        text = convert(swift, case, f"bin2json {type_name}", data)
        expect_same(case, "bin2json output parses to a different message", msg,
                    parse_json(modules, case, type_name, text, "Swift's JSON"),
                    input=data, swift_json=text.decode("utf-8", "replace"))
        python_text = json_format.MessageToJson(msg, indent=None)
        difference = pyjson.equivalent(pyjson.loads(python_text), pyjson.loads(text))
        if difference:
            case.fail("Swift's JSON differs from Python's", difference=difference, input=data,
                      python_json=python_text, swift_json=text.decode("utf-8", "replace"))
        counts["messages, Python↔Swift JSON"] += 1


def test_json_to_binary(type_name, modules, swift, cases, counts):
    """(c) Python MessageToJson (camelCase or proto names, enum names or numbers, defaults
    printed or not, ASCII-escaped or raw UTF-8) → Swift json2bin → Python: same message."""
    for case in cases():
        msg = MessageGen(modules, case.rng, Options(json=True)).make(type_name)
        text = python_json(msg, case.rng)
        out = convert(swift, case, f"json2bin {type_name}", text)
        expect_same(case, "json2bin produced a different message", msg,
                    parse_binary(modules, case, type_name, out, "Swift's json2bin output"),
                    json=text.decode())
        counts["messages, Python↔Swift JSON"] += 1


def test_json_roundtrip(type_name, modules, swift, cases, counts):
    """(d) Python JSON → Swift json2json → Python: same message; and Swift's json2json of its own
    output is that output again (as text when no map has two or more entries)."""
    for case in cases():
        msg = MessageGen(modules, case.rng, Options(json=True)).make(type_name)
        text = python_json(msg, case.rng)
        out = convert(swift, case, f"json2json {type_name}", text)
        expect_same(case, "json2json changed the message", msg,
                    parse_json(modules, case, type_name, out, "Swift's json2json output"),
                    json=text.decode(), swift_json=out.decode("utf-8", "replace"))
        again = convert(swift, case, f"json2json {type_name}", out)
        if not msggen.has_multi_entry_map(msg):
            if again != out:
                case.fail("json2json is not idempotent", first=out.decode(), second=again.decode())
        else:
            difference = pyjson.equivalent(pyjson.loads(out), pyjson.loads(again))
            if difference:
                case.fail("json2json is not idempotent", difference=difference)
        counts["messages, Python↔Swift JSON"] += 1


# -- unknown fields --------------------------------------------------------------------------------


def test_unknown_fields_are_kept(type_name, modules, swift, cases, counts):
    """Unknown fields of every wire type (groups too), at every level of nesting, survive
    bin2bin byte for byte; bin2json leaves them out."""
    for case in cases():
        # NaN payloads are for the binary checks; JSON has one NaN.
        msg = MessageGen(modules, case.rng, Options(unknown_fields=True, nan_payloads=False)).make(type_name)
        data = msg.SerializeToString(deterministic=True)
        out = convert(swift, case, f"bin2bin {type_name}", data)
        expect_same(case, "bin2bin lost or changed unknown fields", msg,
                    parse_binary(modules, case, type_name, out, "Swift's bin2bin output"), input=data)
        if not msggen.has_multi_entry_map(msg):
            expect_bytes(case, "bin2bin bytes differ from Python's", data, out)
        if type_name in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
            continue  # unknown fields are fine in binary, but their JSON is a string either way
        text = convert(swift, case, f"bin2json {type_name}", data)
        known_only = type(msg)()
        known_only.CopyFrom(msg)
        known_only.DiscardUnknownFields()
        expect_same(case, "bin2json of a message with unknown fields", known_only,
                    parse_json(modules, case, type_name, text, "Swift's JSON"), input=data)
        counts["messages with unknown fields"] += 1


def test_every_field_unknown_to_empty(type_name, modules, swift, cases, counts, iterations):
    """A message read as google.protobuf.Empty is all unknown fields: Swift must give back the
    input exactly, and it must still parse as the original type."""
    for case in cases(max(1, iterations // 2)):
        msg = MessageGen(modules, case.rng, Options(unknown_fields=True)).make(type_name)
        data = msg.SerializeToString(deterministic=True)
        out = convert(swift, case, "bin2bin google.protobuf.Empty", data)
        expect_bytes(case, f"{type_name} bytes read as Empty were not re-emitted verbatim", data, out)
        expect_same(case, "unknown fields re-emitted as Empty no longer parse as the original", msg,
                    parse_binary(modules, case, type_name, out, "Swift's Empty output"))
        counts["messages with unknown fields"] += 1


REINTERPRET_PAIRS = [(a, b) for a, b in itertools.permutations(FIXTURES, 2) if b != "google.protobuf.Empty"]


@pytest.mark.parametrize("source,target", REINTERPRET_PAIRS)
def test_read_as_another_type(source, target, modules, swift, cases, counts, iterations):
    """A fixture's bytes read as another fixture type: fields with other numbers become unknown,
    fields with a clashing wire type too; where Python (upb) accepts, Swift must accept and
    re-encode exactly as Python does, and where it rejects (say, bytes that are not UTF-8 landing
    in a string field), Swift must reject."""
    for case in cases(max(1, iterations // 2)):
        msg = MessageGen(modules, case.rng, Options(unknown_fields=case.rng.random() < 0.5)).make(source)
        checks.agree_binary(modules, swift, case, target, msg.SerializeToString(deterministic=True), counts)
        counts["messages read as another type"] += 1


# -- edge values, one field at a time -----------------------------------------------------------

EDGE_VALUES = {
    "int32": msggen.INT32_EDGES, "sint32": msggen.INT32_EDGES, "sfixed32": msggen.INT32_EDGES,
    "int64": msggen.INT64_EDGES, "sint64": msggen.INT64_EDGES, "sfixed64": msggen.INT64_EDGES,
    "uint32": msggen.UINT32_EDGES, "fixed32": msggen.UINT32_EDGES,
    "uint64": msggen.UINT64_EDGES, "fixed64": msggen.UINT64_EDGES,
    "double": msggen.DOUBLE_EDGES, "float": msggen.FLOAT_EDGES, "bool": [False, True],
    "string": ["", "\x00", "é", "日本語", "🙂", "\U0010ffff", "\uffff", "\u2028\u2029", "\"\\/\b\f\n\r\t\x01\x1f\x7f",
               "a" * 200],
    "bytes": [b"", b"\x00", b"\xff" * 3, bytes(range(256)), b"\xfb\xff", b"\xfb\xff\xbf"],
}
TYPE_NAMES = {getattr(msggen.FD, f"TYPE_{k.upper()}"): k for k in EDGE_VALUES}


def edge_messages(modules, type_name):
    """One message per (field, edge value) for the scalar, repeated and map fields of a type."""
    cls = modules.cls(type_name)
    for field in cls.DESCRIPTOR.fields:
        if msggen.is_map(field):
            key_f = field.message_type.fields_by_name["key"]
            val_f = field.message_type.fields_by_name["value"]
            if val_f.type == msggen.FD.TYPE_MESSAGE:
                continue
            for k, v in zip(itertools.cycle(_edges(key_f)), _edges(val_f)):
                msg = cls()
                getattr(msg, field.name)[k] = v
                yield f"{field.name}[{k!r}]={v!r}", msg
            continue
        if field.type == msggen.FD.TYPE_MESSAGE:
            continue
        values = _edges(field)
        if field.is_repeated:
            msg = cls()
            getattr(msg, field.name).extend(values)
            yield f"{field.name}={values!r}"[:200], msg
            continue
        for v in values:
            msg = cls()
            setattr(msg, field.name, v)
            yield f"{field.name}={v!r}"[:200], msg


def _edges(field):
    if field.type == msggen.FD.TYPE_ENUM:
        known = [v.number for v in field.enum_type.values]
        return known + [n for n in (5, -1, msggen.INT32[0], msggen.INT32[1]) if n not in known]
    return EDGE_VALUES[TYPE_NAMES[field.type]]


@pytest.mark.parametrize("fixture", ["execbox.fixtures.v1.Scalars", "execbox.fixtures.v1.Presence",
                                     "execbox.fixtures.v1.Maps"])
def test_edge_values(fixture, modules, swift, case, counts):
    """Every edge value in every scalar, repeated and map field, alone: binary and JSON, each way."""
    type_name = fixture
    for label, msg in edge_messages(modules, type_name):
        data = msg.SerializeToString(deterministic=True)
        out = convert(swift, case, f"bin2bin {type_name}", data)
        expect_bytes(case, f"bin2bin of {label}", data, out)
        text = convert(swift, case, f"bin2json {type_name}", data)
        expect_same(case, f"bin2json of {label}", msg,
                    parse_json(modules, case, type_name, text, "Swift's JSON"),
                    swift_json=text.decode("utf-8", "replace"))
        python_text = json_format.MessageToJson(msg, indent=None)
        difference = pyjson.equivalent(pyjson.loads(python_text), pyjson.loads(text))
        if difference:
            case.fail(f"Swift's JSON of {label} differs from Python's", difference=difference,
                      python_json=python_text, swift_json=text.decode("utf-8", "replace"))
        out = convert(swift, case, f"json2bin {type_name}", python_text.encode())
        expect_same(case, f"json2bin of {label}", msg,
                    parse_binary(modules, case, type_name, out, "Swift's json2bin output"),
                    json=python_text)
        counts["edge-value messages"] += 1


# -- large payloads and deep nesting --------------------------------------------------------------


def test_large_payloads(large_type_name, modules, swift, case, counts):
    """A field of over 1 MiB (random bytes, or multi-byte UTF-8 text): binary and JSON, each way."""
    type_name = large_type_name
    msg = MessageGen(modules, case.rng, Options(json=True, big=True, max_depth=2)).make(type_name)
    data = msg.SerializeToString(deterministic=True)
    assert len(data) >= 1 << 20, "the generator did not place a large field"
    out = convert(swift, case, f"bin2bin {type_name}", data)
    if not msggen.has_multi_entry_map(msg):
        expect_bytes(case, "bin2bin of a large message", data, out)
    expect_same(case, "bin2bin of a large message", msg,
                parse_binary(modules, case, type_name, out, "Swift's bin2bin output"))
    text = convert(swift, case, f"bin2json {type_name}", data)
    expect_same(case, "bin2json of a large message", msg,
                parse_json(modules, case, type_name, text, "Swift's JSON"))
    out = convert(swift, case, f"json2bin {type_name}", python_json(msg, case.rng))
    expect_same(case, "json2bin of a large message", msg,
                parse_binary(modules, case, type_name, out, "Swift's json2bin output"))
    counts["messages over 1 MiB"] += 1


def nested_chain(depth):
    """execbox.fixtures.v1.Nested with `depth` levels of children below the root."""
    data = b"\x08\x2a"
    for _ in range(depth):
        data = b"\x1a" + varint(len(data)) + data
    return data


def composite_chain(depth, field):
    """execbox.fixtures.v1.Composite nested `depth` deep through one recursive field (6 is the
    oneof member choice_self, 11 is `recursive`, 12 the repeated `children`)."""
    data = b"\x40\x01"  # other_bool = true
    for _ in range(depth):
        data = varint(field << 3 | 2) + varint(len(data)) + data
    return data


# Swift's JSON reader, like C++'s (json/internal/lexer.h), counts objects *and* arrays against
# its limit of 100; Python counts messages. So a chain of messages through a repeated field
# (two JSON levels per message) stops at 49 deep in Swift's JSON and at 100 in Python's. That
# is deliberate; these tests hold Swift to the C++ rule.
JSON_CONTAINER_LIMIT = 100


def nested_json(depth):
    return ('{"children":[' * depth + '{"id":42}' + "]}" * depth).encode(), 2 * depth + 1


def composite_json(depth):
    return ('{"recursive":' * depth + '{"otherBool":true}' + "}" * depth).encode(), depth + 1


@pytest.mark.parametrize("depth", [10, 49, 50, 90])
def test_deep_nesting(depth, modules, swift, case, counts):
    """Deep-ish recursion through a repeated field, a singular field and a oneof member: binary
    and JSON, each way."""
    inputs = [("execbox.fixtures.v1.Nested", nested_chain(depth), 2 * depth + 1)] + [
        ("execbox.fixtures.v1.Composite", composite_chain(depth, f), (depth if f != 12 else 2 * depth) + 1)
        for f in (6, 11, 12)]
    for type_name, data, json_containers in inputs:
        msg = parse_binary(modules, case, type_name, data, "the nested input")
        out = convert(swift, case, f"bin2bin {type_name}", data)
        expect_bytes(case, f"bin2bin of depth {depth}", data, out)
        text = convert(swift, case, f"bin2json {type_name}", data)
        expect_same(case, f"bin2json of depth {depth}", msg,
                    parse_json(modules, case, type_name, text, "Swift's JSON"))
        python_text = json_format.MessageToJson(msg).encode()
        if json_containers <= JSON_CONTAINER_LIMIT:
            out = convert(swift, case, f"json2bin {type_name}", python_text)
            expect_bytes(case, f"json2bin of depth {depth}", data, out)
        else:
            answer = ask(swift, case, f"json2bin {type_name}", python_text)
            if answer.ok:
                case.fail(f"Swift read JSON with {json_containers} nested objects and arrays", json=python_text)
        counts["deeply nested messages"] += 1


@pytest.mark.parametrize("depth", [48, 49, 50, 98, 99, 100, 101, 102, 200, 5000])
def test_nesting_limit(depth, modules, swift, case, counts):
    """Around and far past the recursion limits: Python and Swift agree on which binary depths
    they accept (100), Swift's JSON follows the C++ rule, and neither crashes."""
    for type_name, data in [("execbox.fixtures.v1.Nested", nested_chain(depth)),
                            ("execbox.fixtures.v1.Composite", composite_chain(depth, 11)),
                            ("execbox.fixtures.v1.Composite", composite_chain(depth, 6))]:
        checks.agree_binary(modules, swift, case, type_name, data, counts)
    text, containers = composite_json(depth)
    checks.agree_json(modules, swift, case, "execbox.fixtures.v1.Composite", text, counts)
    text, containers = nested_json(depth)
    answer = ask(swift, case, "json2bin execbox.fixtures.v1.Nested", text)
    if answer.ok != (containers <= JSON_CONTAINER_LIMIT):
        case.fail(f"Swift {'accepted' if answer.ok else 'rejected'} JSON nested {containers} deep",
                  json=text, swift=answer)
    if answer.ok:
        expect_bytes(case, "json2bin of a deep chain", nested_chain(depth), answer.data)


# -- malformed input ------------------------------------------------------------------------------


def test_truncated_input(type_name, modules, swift, cases, counts, iterations):
    """Every prefix of a valid encoding (or 48 of them for long ones), binary and JSON: Swift
    rejects exactly the prefixes Python rejects, and never crashes."""
    for case in cases(max(1, iterations // 4)):
        msg = MessageGen(modules, case.rng, Options(json=True)).make(type_name)
        data = msg.SerializeToString(deterministic=True)
        for cut in _cuts(case.rng, len(data)):
            checks.agree_binary(modules, swift, case, type_name, data[:cut], counts)
        text = json_format.MessageToJson(msg, indent=None, sort_keys=True).encode()
        for cut in _cuts(case.rng, len(text))[:16]:
            checks.agree_json(modules, swift, case, type_name, text[:cut], counts)
        counts["messages truncated"] += 1


def _cuts(rng, n):
    if n <= 48:
        return list(range(n))
    return sorted({0, 1, n - 1, n - 2, *rng.sample(range(n), 44)})


def test_garbage_input(type_name, modules, swift, cases, counts):
    """Random bytes, and valid encodings with bytes changed, inserted, deleted or repeated: Swift
    accepts exactly what Python accepts (and then means the same message)."""
    for case in cases():
        rng = case.rng
        msg = MessageGen(modules, rng, Options(unknown_fields=True)).make(type_name)
        data = bytearray(msg.SerializeToString(deterministic=True))
        inputs = [rng.randbytes(rng.randint(1, 48))]
        for _ in range(4):
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 3)):
                op = rng.randrange(4)
                at = rng.randint(0, len(mutated))
                if op == 0 and mutated:
                    mutated[min(at, len(mutated) - 1)] = rng.randrange(256)
                elif op == 1:
                    mutated[at:at] = bytes([rng.choice([0x00, 0x80, 0xFF, 0x7F, 0x0B, 0x0C, rng.randrange(256)])])
                elif op == 2:
                    del mutated[at:at + rng.randint(1, 4)]
                else:
                    mutated[at:at] = mutated[at:at + rng.randint(1, 8)]
            inputs.append(bytes(mutated))
        for garbage in inputs:
            checks.agree_binary(modules, swift, case, type_name, garbage, counts)
        counts["messages mutated"] += 1


def test_garbage_json_input(type_name, modules, swift, cases, counts, iterations):
    """Python's JSON with characters changed, inserted or deleted: whatever Swift accepts, Python
    accepts too and reads the same way."""
    for case in cases(max(1, iterations // 2)):
        rng = case.rng
        msg = MessageGen(modules, rng, Options(json=True)).make(type_name)
        text = python_json(msg, rng)
        for _ in range(4):
            mutated = bytearray(text)
            for _ in range(rng.randint(1, 2)):
                at = rng.randint(0, max(0, len(mutated) - 1))
                ch = rng.choice(b'{}[]",:0123456789.-+eE ntfrualsTZ\\/')
                op = rng.randrange(3)
                if op == 0 and mutated:
                    mutated[at] = ch
                elif op == 1:
                    mutated[at:at] = bytes([ch])
                else:
                    del mutated[at:at + 1]
            checks.json_swift_not_more_lenient(modules, swift, case, type_name, bytes(mutated), counts)


# -- hand-picked inputs ---------------------------------------------------------------------------

SCALARS, MAPS, NESTED = "execbox.fixtures.v1.Scalars", "execbox.fixtures.v1.Maps", "execbox.fixtures.v1.Nested"
COMPOSITE = "execbox.fixtures.v1.Composite"

# Valid but non-canonical encodings (which every decoder must read the same way) and malformed
# ones (which every decoder must reject), as (type, hex, what).
BINARY_INPUTS = [
    (NESTED, "088000", "overlong varint for 0"),
    (NESTED, "08ffffffff0f", "int32 -1 in five bytes"),
    (NESTED, "08ffffffffffffffffff01", "int32 -1 in ten bytes"),
    (NESTED, "0801 0802", "singular field twice: last wins"),
    (NESTED, "88808080 00 01", "tag in five bytes"),
    (SCALARS, "28 8080808010", "int32 from a varint beyond 32 bits: truncated"),
    (SCALARS, "28 ffffffffffffffff7f", "int32 from a 64-bit varint"),
    (SCALARS, "40 02", "bool from 2"),
    (SCALARS, "40 ffffffffffffffffff01", "bool from a ten-byte varint"),
    (SCALARS, "c80101 ca01020203 c80104", "packed field sent unpacked and packed, mixed"),
    (SCALARS, "ca01 00", "empty packed run"),
    (SCALARS, "ca02 020102", "unpacked field sent packed"),
    (SCALARS, "ba01 03 010203", "packed bools"),
    (SCALARS, "c201 01 80", "packed varints cut short"),
    (SCALARS, "b201 03 010203", "packed fixed64 not a multiple of 8"),
    (SCALARS, "8001 7b", "enum number nobody declared"),
    (SCALARS, "8001 ffffffffffffffffff01", "enum -1 in ten bytes"),
    (SCALARS, "f8ffffff0f 01", "the highest field number"),
    (COMPOSITE, "5202 1001 5202 0a00", "message field twice: merged"),
    (COMPOSITE, "0801 1201 61", "two members of a oneof: last wins"),
    (COMPOSITE, "3202 4001 3202 4801", "oneof message member twice: merged"),
    (COMPOSITE, "4801 3a00 4001", "second oneof set twice across members"),
    (COMPOSITE, "6202 0801 6202 1001", "repeated message twice"),
    (MAPS, "0a03 120161", "map entry without key"),
    (MAPS, "0a03 0a0161", "map entry without value"),
    (MAPS, "0a00", "empty map entry"),
    (MAPS, "0a06 120162 0a0161", "map entry, value before key"),
    (MAPS, "0a06 0a0161 120162 0a06 0a0161 120163", "duplicate map key: last wins"),
    (MAPS, "8a01 00", "message-valued map entry without value"),
    (MAPS, "9201 02 0801", "int32→message map entry without value"),
    (MAPS, "0801", "map field with the wrong wire type: unknown"),
    (NESTED, "0a0161", "known field with the wrong wire type: unknown"),
    (NESTED, "0b 0801 0c", "group for a known field number: unknown"),
    (NESTED, "00", "field number 0"),
    (NESTED, "0700", "wire type 7"),
    (NESTED, "0600", "wire type 6"),
    (NESTED, "0c", "end group without a start"),
    (NESTED, "0b", "group never closed"),
    (NESTED, "0b14", "group closed with another number"),
    (NESTED, "0b 130c 14 0c", "nested groups closed out of order"),
    (NESTED, "12ffffffff0f", "length of 4 GiB"),
    (NESTED, "12 8080808010", "length beyond 32 bits"),
    (NESTED, "08ffffffffffffffffffff01", "varint of eleven bytes"),
    (NESTED, "08808080808080808080", "varint cut short"),
    (NESTED, "f8ffffff1f01", "field number beyond 2^29 - 1"),
    (NESTED, "80808080 10 01", "tag beyond 32 bits"),
    (NESTED, "1a 02 1a 00 1a 01", "sub-message length past its parent's end"),
    (NESTED, "1203efbfbf", "U+FFFF in a string"),
    (NESTED, "1204f48fbfbf", "U+10FFFF in a string"),
    (NESTED, "1204f0908080", "U+10000 in a string"),
    (NESTED, "1202c080", "overlong UTF-8 (C0 80)"),
    (NESTED, "1203e08080", "overlong UTF-8 (E0 80 80)"),
    (NESTED, "1204f0808080", "overlong UTF-8 (F0 80 80 80)"),
    (NESTED, "1203eda080", "UTF-8 of a surrogate"),
    (NESTED, "1204f4908080", "UTF-8 beyond U+10FFFF"),
    (NESTED, "1205f888808080", "five-byte UTF-8"),
    (NESTED, "120180", "lone continuation byte"),
    (NESTED, "1202c3", "UTF-8 sequence cut short by the input's end"),
    (MAPS, "0a04 0a02c080", "invalid UTF-8 in a map key"),
    (MAPS, "0a04 1202c080", "invalid UTF-8 in a map value"),
    (MAPS, "6a06 0a02c080 1200", "invalid UTF-8 in a string→bytes key"),
    (SCALARS, "09 0000", "fixed64 cut short"),
    (SCALARS, "0d 000000", "fixed32 cut short"),
    (NESTED, "8880808080 00 01", "tag in six bytes (both reject)"),
]


@pytest.mark.parametrize("target,hex_input,what", BINARY_INPUTS, ids=[r[2] for r in BINARY_INPUTS])
def test_binary_edge_input(target, hex_input, what, modules, swift, case, counts):
    """Swift reads each input as Python does: the same message (and bytes), or an error."""
    checks.agree_binary(modules, swift, case, target, bytes.fromhex(hex_input.replace(" ", "")), counts)


# Each deliberate difference (see checks.py), pinned: if either side changes, revisit the excuse.
DIVERGENCES = [
    (NESTED, "08ffffffffffffffffff7f", True, False, "varint over 64 bits: upb truncates, Swift rejects"),
    (NESTED, "0b 0000 0c", True, False, "field number 0 inside an unknown group: upb skips it"),
    ("google.protobuf.Empty", "0000", True, False, "field number 0 in a message with no fields"),
    (MAPS, "0a07 0a0161 120162 1801", None, True,
     "map entry with an unknown field: upb keeps the entry as an unknown field of the map's owner"),
]


@pytest.mark.parametrize("target,hex_input,python_accepts,swift_accepts,what", DIVERGENCES,
                         ids=[r[4].split(":")[0] for r in DIVERGENCES])
def test_documented_divergence(target, hex_input, python_accepts, swift_accepts, what, modules, swift, case):
    data = bytes.fromhex(hex_input.replace(" ", ""))
    if python_accepts is None:  # the map case: both accept, and mean different maps
        data = bytes.fromhex("0a08 0a0161 120162 1801")
        parsed = modules.cls(target).FromString(data)
        assert len(parsed.string_string) == 0 and checks.upb_kept_map_entry_as_unknown(parsed)
        answer = swift.request(f"bin2bin {target}", data)
        assert answer.ok and answer.data == bytes.fromhex("0a06 0a0161 120162"), answer
        return
    parsed, _ = checks.python_parse_binary(modules, target, data)
    assert (parsed is not None) == python_accepts, f"Python changed its mind on: {what}"
    answer = swift.request(f"bin2bin {target}", data)
    assert answer.ok == swift_accepts, f"Swift changed its mind on: {what} ({answer})"
    assert checks.agree_binary(modules, swift, case, target, data) == "deliberate difference"


# -- JSON inputs, judged by the protobuf conformance suite ----------------------------------------

OK, ERROR = True, False

# (type, JSON, verdict, marks). The verdicts are the conformance suite's (binary_json_conformance_
# suite.cc and its successors) or the proto3 JSON spec's; Python (json_format) is not the judge
# here because it is lenient in places: base64 with junk or bad padding, numbers in strings with
# spaces or "1e400", enum numbers in strings, `[]` for a message, and loose timestamps/durations.
JSON_INPUTS = [
    (SCALARS, '{"fInt32": "5"}', OK, ()),
    (SCALARS, '{"fInt32": 1e5}', OK, ()),
    (SCALARS, '{"fInt32": 100000.000}', OK, ()),
    (SCALARS, '{"fInt32": 2.147483647e9}', OK, ()),
    (SCALARS, '{"fInt32": -2.147483648e9}', OK, ()),
    (SCALARS, '{"fInt32": "\\u0032"}', OK, ()),
    (SCALARS, '{"fInt32": "1.0"}', OK, ()),
    (SCALARS, '{"fUint32": 4.294967295e9}', OK, ()),
    (SCALARS, '{"fInt64": 9223372036854775807}', OK, ()),
    (SCALARS, '{"fInt64": "-9223372036854775808"}', OK, ()),
    (SCALARS, '{"fInt64": "1e5"}', OK, ()),
    (SCALARS, '{"fUint64": 18446744073709551615}', OK, ()),
    (SCALARS, '{"fInt32": 01}', ERROR, ()),
    (SCALARS, '{"fInt32": -01}', ERROR, ()),
    (SCALARS, '{"fInt32": " 1"}', ERROR, ()),
    (SCALARS, '{"fInt32": "1 "}', ERROR, ()),
    (SCALARS, '{"fInt32": 0.5}', ERROR, ()),
    (SCALARS, '{"fInt32": "1.5"}', ERROR, ()),
    (SCALARS, '{"fInt32": "3x3"}', ERROR, ()),
    (SCALARS, '{"fInt32": 2147483648}', ERROR, ()),
    (SCALARS, '{"fInt32": -2147483649}', ERROR, ()),
    (SCALARS, '{"fInt32": 1e400}', ERROR, ()),
    (SCALARS, '{"fUint32": -1}', ERROR, ()),
    (SCALARS, '{"fInt64": "9223372036854775808"}', ERROR, ()),
    (SCALARS, '{"fUint64": "18446744073709551616"}', ERROR, ()),
    (SCALARS, '{"fUint64": "-1"}', ERROR, ()),
    (SCALARS, '{"fBool": 0}', ERROR, ()),
    (SCALARS, '{"fBool": "true"}', ERROR, ()),
    (SCALARS, '{"fBool": True}', ERROR, ()),
    (SCALARS, '{"fBool": null}', OK, ()),
    (SCALARS, '{"fDouble": "NaN"}', OK, ()),
    (SCALARS, '{"fDouble": "-Infinity"}', OK, ()),
    (SCALARS, '{"fFloat": "1"}', OK, ()),
    (SCALARS, '{"fDouble": "9.870000e+01"}', OK, ()),
    (SCALARS, '{"fDouble": 2.22507e-308}', OK, ()),
    (SCALARS, '{"fFloat": 1.175494e-38}', OK, ()),
    (SCALARS, '{"fFloat": 1e-50}', OK, ()),
    (SCALARS, '{"fFloat": 3.4028235e38}', OK, ()),
    (SCALARS, '{"fDouble": -0}', OK, ()),
    (SCALARS, '{"fDouble": NaN}', ERROR, ()),
    (SCALARS, '{"fFloat": Infinity}', ERROR, ()),
    (SCALARS, '{"fDouble": "nan"}', ERROR, ()),
    (SCALARS, '{"fDouble": 1.89769e+308}', ERROR, ()),
    (SCALARS, '{"fDouble": "1.89769e+308"}', ERROR, ()),
    (SCALARS, '{"fDouble": "1e400"}', ERROR, ()),
    (SCALARS, '{"fDouble": " 1.5"}', ERROR, ()),
    (SCALARS, '{"fFloat": 3.502823e+38}', ERROR, ()),
    (SCALARS, '{"fFloat": "-3.502823e+38"}', ERROR, ()),
    (SCALARS, '{"fString": "\\uD83D\\uDE00\\u00AB\\"\\\\\\/\\b\\f\\n\\r\\t"}', OK, ()),
    (SCALARS, '{"fString": "\\uD800"}', ERROR, ()),
    (SCALARS, '{"fString": "\\uDC00"}', ERROR, ()),
    (SCALARS, '{"fString": "\\uDE00\\uD83D"}', ERROR, ()),
    (SCALARS, '{"fString": "\\uXXXX"}', ERROR, ()),
    (SCALARS, '{"fString": "\\u12"}', ERROR, ()),
    (SCALARS, '{"fString": "\\x41"}', ERROR, ()),
    (SCALARS, '{"fString": "a\x01b"}', ERROR, ()),
    (SCALARS, "{\"fString\": 'Hello'}", ERROR, ()),
    (SCALARS, '{"fString": 5}', ERROR, ()),
    (SCALARS, '{"fBytes": "AQI="}', OK, ()),
    (SCALARS, '{"fBytes": "AQI"}', OK, ()),
    (SCALARS, '{"fBytes": "-_"}', OK, ()),
    (SCALARS, '{"fBytes": "/+=="}', OK, ()),
    (SCALARS, '{"fBytes": "AQ="}', ERROR, ()),
    (SCALARS, '{"fBytes": "A Q=="}', ERROR, ()),
    (SCALARS, '{"fBytes": "AQ==AQ=="}', ERROR, ()),
    (SCALARS, '{"fBytes": "@@@@"}', ERROR, ()),
    (SCALARS, '{"fColor": "COLOR_CRIMSON"}', OK, ()),
    (SCALARS, '{"fColor": 0}', OK, ()),
    (SCALARS, '{"fColor": 123}', OK, ()),
    (SCALARS, '{"fColor": -3}', OK, ()),
    (SCALARS, '{"fColor": COLOR_RED}', ERROR, ()),
    (SCALARS, '{"fColor": "COLOR_BOGUS"}', ERROR, ()),
    (SCALARS, '{"fColor": "1"}', ERROR, ()),
    (SCALARS, '{"rInt32": [1, "2", 3.0]}', OK, ()),
    (SCALARS, '{"rInt32": null}', OK, ()),
    (SCALARS, '{"rInt32": [1, null, 2]}', ERROR, ()),
    (SCALARS, '{"rInt32": [1, 2,]}', ERROR, ()),
    (SCALARS, '{"rInt32": [true]}', ERROR, ()),
    (SCALARS, '{"rInt32": 5}', ERROR, ()),
    (SCALARS, '{"fInt32": [5]}', ERROR, ()),
    (SCALARS, '{"f\\u0049nt32": 1}', OK, ()),
    (SCALARS, '{"f_int32": 5}', OK, ()),
    (SCALARS, '{"fHighNumber": 1, "f_bytes": "AQ=="}', OK, ()),
    (SCALARS, '{"nope": 1}', ERROR, ()),
    (SCALARS, '{"FInt32": 5}', ERROR, ()),
    (SCALARS, '{fInt32: 1}', ERROR, ()),
    (SCALARS, '{"fInt32": 1, }', ERROR, ()),
    (SCALARS, '{,"fInt32": 1}', ERROR, ()),
    (SCALARS, '{"fInt32" 1}', ERROR, ()),
    (SCALARS, '{"fInt32": 1 "fInt64": "2"}', ERROR, ()),
    (SCALARS, '{"fInt32": 1 /* comment */}', ERROR, ()),
    (SCALARS, '{"fInt32": 5} x', ERROR, ()),
    (SCALARS, '{} {}', ERROR, ()),
    (SCALARS, ' \n\t{ } \n', OK, ()),
    (SCALARS, 'null', ERROR, ()),
    (SCALARS, '[]', ERROR, ()),
    (SCALARS, '', ERROR, ()),
    (COMPOSITE, '{"choiceInt": 0}', OK, ()),
    (COMPOSITE, '{"choiceString": ""}', OK, ()),
    (COMPOSITE, '{"choiceMessage": {}}', OK, ()),
    (COMPOSITE, '{"choiceMode": "MODE_UNSPECIFIED"}', OK, ()),
    (COMPOSITE, '{"customName": "x"}', OK, ()),
    (COMPOSITE, '{"json_name_override": "x"}', OK, ()),
    (COMPOSITE, '{"jsonNameOverride": "x"}', ERROR, ()),
    (COMPOSITE, '{"class": 1, "self": true, "default": "x", "protocol": "p", "type": "t"}', OK, ()),
    (COMPOSITE, '{"nothing": {}}', OK, ()),
    (COMPOSITE, '{"nothing": {"x": 1}}', ERROR, ()),
    (COMPOSITE, '{"inner": null, "elapsed": null, "createdAt": null}', OK, ()),
    (COMPOSITE, '{"children": [{}, null]}', ERROR, ()),
    (COMPOSITE, '{"times": ["1970-01-01T00:00:00Z", null]}', ERROR, ()),
    (COMPOSITE, '{"durations": {"a": null}}', ERROR, ()),
    (COMPOSITE, '{"createdAt": "1970-01-01T08:00:01+08:00"}', OK, ()),
    (COMPOSITE, '{"createdAt": "1969-12-31T16:00:00-08:00"}', OK, ()),
    (COMPOSITE, '{"createdAt": "1993-02-10T00:00:00.000Z"}', OK, ()),
    (COMPOSITE, '{"createdAt": "0001-01-01T00:00:00Z"}', OK, ()),
    (COMPOSITE, '{"createdAt": "9999-12-31T23:59:59.999999999Z"}', OK, ()),
    (COMPOSITE, '{"createdAt": "0000-01-01T00:00:00Z"}', ERROR, ()),
    (COMPOSITE, '{"createdAt": "10000-01-01T00:00:00Z"}', ERROR, ()),
    (COMPOSITE, '{"createdAt": "0001-01-01T00:00:00"}', ERROR, ()),
    (COMPOSITE, '{"createdAt": "0001-01-01 00:00:00Z"}', ERROR, ()),
    (COMPOSITE, '{"createdAt": "0001-01-01T00:00:00z"}', ERROR, ()),
    (COMPOSITE, '{"createdAt": "0001-01-01t00:00:00Z"}', ERROR, ()),
    (COMPOSITE, '{"createdAt": "1970-01-01T08:00:01+0800"}', ERROR, ()),
    (COMPOSITE, '{"createdAt": "1970-01-01T00:00:00.1234567890Z"}', ERROR, ()),
    (COMPOSITE, '{"createdAt": "1970-01-01T23:59:60Z"}', ERROR, ()),
    (COMPOSITE, '{"createdAt": "1970-1-1T00:00:00Z"}', ERROR, ()),
    (COMPOSITE, '{"createdAt": "1970-01-01T00:00:00.Z"}', ERROR, ()),
    (COMPOSITE, '{"createdAt": 0}', ERROR, ()),
    (COMPOSITE, '{"elapsed": "1.5s"}', OK, ()),
    (COMPOSITE, '{"elapsed": "-0.5s"}', OK, ()),
    (COMPOSITE, '{"elapsed": "-0.000000001s"}', OK, ()),
    (COMPOSITE, '{"elapsed": "315576000000.999999999s"}', OK, ()),
    (COMPOSITE, '{"elapsed": "315576000001.000000000s"}', ERROR, ()),
    (COMPOSITE, '{"elapsed": "-315576000001.000000000s"}', ERROR, ()),
    (COMPOSITE, '{"elapsed": "1"}', ERROR, ()),
    (COMPOSITE, '{"elapsed": "1.0000000001s"}', ERROR, ()),
    (COMPOSITE, '{"elapsed": "+1s"}', ERROR, ()),
    (COMPOSITE, '{"elapsed": 1}', ERROR, ()),
    (MAPS, '{"int32Int32": {"1": 2, "-2147483648": 0}}', OK, ()),
    (MAPS, '{"boolBool": {"true": true, "false": false}}', OK, ()),
    (MAPS, '{"int64Int64": {"-9223372036854775808": "1"}}', OK, ()),
    (MAPS, '{"stringColor": {"a": "COLOR_RED", "b": 7}}', OK, ()),
    (MAPS, '{"stringDouble": {"a": "NaN", "b": "-Infinity", "c": -0}}', OK, ()),
    (MAPS, '{"stringMessage": {"a": {}}}', OK, ()),
    (MAPS, '{"stringString": null}', OK, ()),
    (MAPS, '{"int32Int32": {"0": null}}', ERROR, ()),
    (MAPS, '{"int32Int32": {"x": 2}}', ERROR, ()),
    (MAPS, '{"int32Int32": {"01": 2}}', ERROR, ()),
    (MAPS, '{"int32Int32": {"1e2": 2}}', ERROR, ()),
    (MAPS, '{"uint32Uint32": {"4294967296": 1}}', ERROR, ()),
    (MAPS, '{"boolBool": {"True": true}}', ERROR, ()),
    (MAPS, '{"stringColor": {"a": "COLOR_BOGUS"}}', ERROR, ()),
    (MAPS, '{"stringString": []}', ERROR, ()),
    ("google.protobuf.Timestamp", '"1970-01-01T00:00:00Z"', OK, ()),
    ("google.protobuf.Timestamp", '{"seconds": 1}', ERROR, ()),
    ("google.protobuf.Duration", '"-1.5s"', OK, ()),
    ("google.protobuf.Duration", 'null', ERROR, ()),
    ("google.protobuf.Empty", '{}', OK, ()),
    ("google.protobuf.Empty", '{"a": 1}', ERROR, ()),
    ("google.protobuf.Empty", '[]', ERROR, ()),
]


def _id_text(text):
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", text).strip("_")[:48]


@pytest.mark.parametrize(
    "target,text,verdict",
    [pytest.param(t, j, v, marks=m, id=f"{i:03d}-{t.rsplit('.', 1)[1]}-{_id_text(j)}")
     for i, (t, j, v, m) in enumerate(JSON_INPUTS)])
def test_json_edge_input(target, text, verdict, modules, swift, case, counts):
    """Swift accepts exactly the JSON the conformance suite calls valid, and reads it as Python
    does (where Python accepts it too)."""
    data = text.encode()
    answer = ask(swift, case, f"json2bin {target}", data)
    counts["JSON inputs compared for acceptance"] += 1
    if answer.ok != verdict:
        case.fail(f"Swift {'accepts' if answer.ok else 'rejects'} JSON the conformance suite "
                  f"{'accepts' if verdict else 'rejects'}", json=text, swift=answer)
    if answer.ok:
        expected, _ = checks.python_parse_json(modules, target, data)
        if expected is not None:
            expect_same(case, "Swift read the JSON differently from Python", expected,
                        parse_binary(modules, case, target, answer.data, "Swift's output"), json=text)


WKT_OUT_OF_RANGE = [
    ("google.protobuf.Timestamp", {"seconds": -62135596801}),
    ("google.protobuf.Timestamp", {"seconds": 253402300800}),
    ("google.protobuf.Timestamp", {"nanos": -1}),
    ("google.protobuf.Timestamp", {"nanos": 1_000_000_000}),
    ("google.protobuf.Duration", {"seconds": 315576000001}),
    ("google.protobuf.Duration", {"seconds": -315576000001}),
    ("google.protobuf.Duration", {"seconds": 1, "nanos": -1}),
    ("google.protobuf.Duration", {"seconds": -1, "nanos": 1}),
    ("google.protobuf.Duration", {"nanos": 1_000_000_000}),
    ("google.protobuf.Duration", {"nanos": -1_000_000_000}),
]


@pytest.mark.parametrize("target,fields", WKT_OUT_OF_RANGE,
                         ids=[f"{t.rsplit('.', 1)[1]}-" + "-".join(f"{k}={v}" for k, v in f.items())
                              for t, f in WKT_OUT_OF_RANGE])
def test_json_refuses_out_of_range_well_known_types(target, fields, modules, swift, case):
    """Python refuses to write these as JSON (so do C++ and the conformance suite); Swift must
    too, alone and inside another message."""
    msg = modules.cls(target)(**fields)
    with pytest.raises(Exception):
        json_format.MessageToJson(msg)
    wrapper = modules.cls(COMPOSITE)()
    (wrapper.created_at if target.endswith("Timestamp") else wrapper.elapsed).CopyFrom(msg)
    for type_name, m in [(target, msg), (COMPOSITE, wrapper)]:
        answer = ask(swift, case, f"bin2json {type_name}", m.SerializeToString())
        if answer.ok:
            case.fail("Swift wrote JSON for an out-of-range value", type=type_name,
                      input=m.SerializeToString(), swift_json=answer.data.decode())


def test_json_accepts_in_range_well_known_type_edges(modules, swift, case):
    """The last values inside the ranges are written (and read back) by both."""
    T, D = modules.cls("google.protobuf.Timestamp"), modules.cls("google.protobuf.Duration")
    for msg in [T(seconds=-62135596800), T(seconds=253402300799, nanos=999999999),
                D(seconds=315576000000, nanos=999999999), D(seconds=-315576000000, nanos=-999999999),
                D(nanos=-5), D(seconds=-1, nanos=-1)]:
        name = msg.DESCRIPTOR.full_name
        text = convert(swift, case, f"bin2json {name}", msg.SerializeToString(deterministic=True))
        assert text.decode() == json_format.MessageToJson(msg), msg
        expect_same(case, "json2bin of a range edge", msg,
                    parse_binary(modules, case, name, convert(swift, case, f"json2bin {name}", text),
                                 "Swift's json2bin output"))
