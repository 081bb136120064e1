"""Execbox's Swift protobuf runtime against protobuf-c 1.4.1 (Debian's libprotobuf-c and
protoc-c), for every message of every file protoc-c accepts: the same message encoded by both
gives the same bytes, and each decodes the other's output.

protoc-c 1.4.1 refuses files with proto3 `optional` (account.proto, presence.proto); every other
file is covered, features.proto included. What protobuf-c 1.4.1 cannot carry is kept out of the
random messages, each pinned by a test below so the exclusion stays honest:

- a NUL inside a string: strings are C strings, so `a\\0b` packs as `a`;
- -0.0 in a float or double field without presence (or a map value): packed only when `!= 0`,
  so negative zero is dropped, where upb and Swift keep its sign bit;
- unknown fields of the group wire types: unpack fails (other unknown fields are kept, at the
  end, in order, as Swift and upb keep them);
- a map entry with a zero key or value: both are fields without presence to protobuf-c, so it
  omits them, where upb and Swift always write both. Same map, other bytes: such messages are
  compared as messages, not as bytes.
"""

import pytest

import cbuild
import lineproc
import msggen
from checks import convert, expect_bytes, expect_same, parse_binary
from conftest import state
from msggen import MessageGen, Options


def c_options(rng):
    return Options(nul_in_strings=False, negative_zero=False, unknown_groups=False,
                   unknown_fields=rng.random() < 0.5)


@pytest.fixture(scope="session")
def protobuf_c(modules):
    exe = cbuild.build(f"{state().workdir}/c", modules.protoc_c_files())
    proc = lineproc.LineProcess([str(exe)], "protobuf-c check")
    yield proc
    state().counts["protobuf-c requests"] = proc.requests
    proc.close()


def test_protoc_c_rejects_exactly_the_files_with_proto3_optional(tmp_path):
    for rel in cbuild.proto_files():
        accepted, err = cbuild.protoc_c(rel, tmp_path)
        expected = rel not in cbuild.PROTOC_C_REJECTS
        assert accepted == expected, f"protoc-c on {rel}: accepted={accepted}; {err}"
        if not accepted:
            assert "optional" in err, err


def test_protobuf_c_knows_every_message_type(protobuf_c, modules):
    c_types = {t for t in protobuf_c.lines_until("types", "END")
               if not modules.descriptor(t).GetOptions().map_entry}
    assert c_types == set(modules.protoc_c_types())
    assert "execbox.fixtures.v1.Composite.Inner.Deeper" in c_types


def test_same_bytes_as_protobuf_c(c_type_name, modules, swift, protobuf_c, cases, counts):
    """Python bytes → protobuf-c unpack/pack and Swift bin2bin: identical output (canonical field
    order); each output decodes in the other implementation to the same message."""
    type_name = c_type_name
    for case in cases():
        msg = MessageGen(modules, case.rng, c_options(case.rng)).make(type_name)
        data = msg.SerializeToString(deterministic=True)
        c_out = convert(protobuf_c, case, type_name, data)
        swift_out = convert(swift, case, f"bin2bin {type_name}", data)
        expect_same(case, "protobuf-c changed the message", msg,
                    parse_binary(modules, case, type_name, c_out, "protobuf-c's output"), input=data)
        expect_same(case, "Swift changed the message", msg,
                    parse_binary(modules, case, type_name, swift_out, "Swift's output"), input=data)
        bytes_comparable = not (msggen.has_multi_entry_map(msg) or msggen.has_default_map_entry(msg))
        if bytes_comparable:
            expect_bytes(case, "Swift and protobuf-c encode differently", c_out, swift_out, input=data)

        swift_of_c = convert(swift, case, f"bin2bin {type_name}", c_out)
        c_of_swift = convert(protobuf_c, case, type_name, swift_out)
        expect_same(case, "Swift decoded protobuf-c's output to a different message", msg,
                    parse_binary(modules, case, type_name, swift_of_c, "Swift's output"), c_output=c_out)
        expect_same(case, "protobuf-c decoded Swift's output to a different message", msg,
                    parse_binary(modules, case, type_name, c_of_swift, "protobuf-c's output"),
                    swift_output=swift_out)
        if bytes_comparable:
            expect_bytes(case, "Swift re-encoded protobuf-c's output differently", c_out, swift_of_c)
            expect_bytes(case, "protobuf-c re-encoded Swift's output differently", swift_out, c_of_swift)
        counts["messages, protobuf-c↔Swift"] += 1


LARGE_C_TYPES = [t for t in state().modules.large_payload_types() if t in state().modules.protoc_c_types()]


@pytest.mark.parametrize("target", LARGE_C_TYPES)
def test_large_payload_same_bytes_as_protobuf_c(target, modules, swift, protobuf_c, case, counts):
    """A field of over 1 MiB (random bytes, or multi-byte UTF-8 text): same bytes from both."""
    options = c_options(case.rng)
    options.big, options.max_depth = True, 2
    msg = MessageGen(modules, case.rng, options).make(target)
    data = msg.SerializeToString(deterministic=True)
    assert len(data) >= 1 << 20
    c_out = convert(protobuf_c, case, target, data)
    swift_out = convert(swift, case, f"bin2bin {target}", data)
    expect_same(case, "protobuf-c changed a large message", msg,
                parse_binary(modules, case, target, c_out, "protobuf-c's output"))
    if not (msggen.has_multi_entry_map(msg) or msggen.has_default_map_entry(msg)):
        expect_bytes(case, "Swift and protobuf-c encode a large message differently", c_out, swift_out)
    counts["messages over 1 MiB, protobuf-c↔Swift"] += 1


# -- what protobuf-c 1.4.1 cannot carry, pinned ---------------------------------------------------


def _both(modules, swift, protobuf_c, case, msg=None, raw=None, type_name=None):
    type_name = type_name or msg.DESCRIPTOR.full_name
    data = raw if raw is not None else msg.SerializeToString(deterministic=True)
    return data, protobuf_c.request(type_name, data), swift.request(f"bin2bin {type_name}", data)


def test_protobuf_c_truncates_strings_at_nul(modules, swift, protobuf_c, case):
    nested = modules.cls("execbox.fixtures.v1.Nested")(name="a\x00b")
    data, c, s = _both(modules, swift, protobuf_c, case, nested)
    assert c.ok and c.data == bytes.fromhex("120161"), c
    assert s.ok and s.data == data, s


@pytest.mark.parametrize("field", ["f_double", "f_float"])
def test_protobuf_c_drops_negative_zero(field, modules, swift, protobuf_c, case):
    scalars = modules.cls("execbox.fixtures.v1.Scalars")(**{field: -0.0})
    data, c, s = _both(modules, swift, protobuf_c, case, scalars)
    assert data and c.ok and c.data == b"", c
    assert s.ok and s.data == data, s


def test_protobuf_c_rejects_unknown_groups(modules, swift, protobuf_c, case):
    data, c, s = _both(modules, swift, protobuf_c, case, raw=bytes.fromhex("0801a3060801a406"),
                       type_name="execbox.fixtures.v1.Nested")
    assert not c.ok, c
    assert s.ok and s.data == data, s


@pytest.mark.parametrize("entry", [{"": "a"}, {"k": ""}])
def test_protobuf_c_omits_zero_map_keys_and_values(entry, modules, swift, protobuf_c, case):
    maps = modules.cls("execbox.fixtures.v1.Maps")(string_string=entry)
    data, c, s = _both(modules, swift, protobuf_c, case, maps)
    assert c.ok and len(c.data) == len(data) - 2, c
    assert s.ok and s.data == data, s
    assert modules.cls("execbox.fixtures.v1.Maps").FromString(c.data) == maps


def test_protobuf_c_keeps_other_unknown_fields(modules, swift, protobuf_c, case):
    data, c, s = _both(modules, swift, protobuf_c, case,
                       raw=bytes.fromhex("0801a00601a50601020304a90608070605040302011203616263"),
                       type_name="execbox.fixtures.v1.Nested")
    assert c.ok and s.ok and c.data == s.data, (c, s)
