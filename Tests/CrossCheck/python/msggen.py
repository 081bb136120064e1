"""Random messages driven by Python descriptors, for property-based cross-checks.

Every field kind the fixtures use is covered: scalars with their edge values, repeated fields
(packed and unpacked), maps with every key type, oneofs (at most one member set, sometimes to
its default value), proto3 `optional`, nested and recursive messages (depth and size bounded),
enums including numbers the enum does not declare, and well-known types with values their JSON
form can carry. Unknown fields can be injected at any level for the binary checks.
"""

import math
import struct

from google.protobuf.descriptor import FieldDescriptor as FD

INT32 = (-(1 << 31), (1 << 31) - 1)
INT64 = (-(1 << 63), (1 << 63) - 1)
UINT32 = (0, (1 << 32) - 1)
UINT64 = (0, (1 << 64) - 1)

INT32_EDGES = [0, 1, -1, 127, 128, -128, 300, INT32[0], INT32[1], INT32[0] + 1, 1 << 30, -(1 << 30)]
INT64_EDGES = [0, 1, -1, INT64[0], INT64[1], INT32[0], INT32[1], 1 << 32, -(1 << 32), (1 << 53) + 1,
               -(1 << 53) - 1, 1 << 62]
UINT32_EDGES = [0, 1, 127, 128, 16383, 16384, UINT32[1], 1 << 31, (1 << 31) - 1]
UINT64_EDGES = [0, 1, 127, 128, UINT64[1], 1 << 63, (1 << 63) - 1, (1 << 63) + 1, UINT32[1], 1 << 32,
                (1 << 53) + 1]

DOUBLE_EDGES = [0.0, -0.0, math.nan, math.inf, -math.inf, 5e-324, -5e-324, 2.2250738585072014e-308,
                1.7976931348623157e308, -1.7976931348623157e308, 0.1, -0.1, 1 / 3, 1e21, 1e-7, 1e-6,
                123456789.125, 9007199254740993.0, 1.0, -1.0, 0.5, 100.0, 1e100, 2.5e-5]
FLOAT_EDGES = [0.0, -0.0, math.nan, math.inf, -math.inf, 1.401298464324817e-45, -1.401298464324817e-45,
               1.1754943508222875e-38, 3.4028234663852886e38, -3.4028234663852886e38,
               0.10000000149011612, 1.0, -1.0, 0.5, 16777217.0, 1e20, 1e-7, 3.140000104904175]

# Pieces of strings: ASCII, JSON escapes, two-, three- and four-byte UTF-8, the edges of the
# BMP around the surrogates, a NUL, U+2028/2029 (invalid raw in JavaScript) and the maximum.
STRING_PIECES = ["a", "Z", "0", " ", "hello", "\"", "\\", "/", "\n", "\r", "\t", "\b", "\f", "\x01",
                 "\x1f", "\x7f", "é", "ß", "ÿ", "\u0100", "Ω", "я", "\u05d0", "日本語", "\u2028",
                 "\u2029", "\ud7ff", "\ue000", "\ufeff", "\ufffd", "\uffff", "🙂", "𝄞", "\U0010ffff",
                 "\u0301", "<script>", "&amp;", "'", "\x00"]

UNKNOWN_ENUM_NUMBERS = [3, 4, 5, 7, 42, 127, 128, 1000, 123456, INT32[1], INT32[0], -1, -2, -100]


class Options:
    """What a generator may produce; each flag exists because some peer cannot carry it."""

    def __init__(self, *, json=False, unknown_fields=False, big=False, max_depth=4, budget=40,
                 nul_in_strings=True, negative_zero=True, empty_oneof_string=True,
                 unknown_groups=True, nan_payloads=True):
        # Canonical proto3 JSON is the target: NaN payloads and out-of-range well-known types
        # cannot survive it, and unknown fields have no JSON form.
        self.json = json
        self.unknown_fields = unknown_fields and not json
        self.big = big
        self.max_depth = max_depth
        self.budget = budget
        self.nul_in_strings = nul_in_strings
        self.negative_zero = negative_zero
        self.empty_oneof_string = empty_oneof_string
        self.unknown_groups = unknown_groups
        self.nan_payloads = nan_payloads and not json


def is_map(field):
    return field.type == FD.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def real_oneof(field):
    """The field's oneof unless it is the synthetic one protoc makes for proto3 `optional`."""
    oneof = field.containing_oneof
    if oneof is None:
        return None
    if len(oneof.fields) == 1 and oneof.name == "_" + field.name:
        return None
    return oneof


class MessageGen:
    def __init__(self, modules, rng, options=None):
        self.modules = modules
        self.rng = rng
        self.opt = options or Options()

    # -- messages ----------------------------------------------------------------------------

    def make(self, full_name):
        msg = self.modules.cls(full_name)()
        self.nodes = 0
        self.big_left = 1 if self.opt.big else 0
        self.fill(msg, 0)
        return msg

    def fill(self, msg, depth):
        self.nodes += 1
        desc = msg.DESCRIPTOR
        special = WELL_KNOWN_FILLERS.get(desc.full_name)
        if special:
            special(self, msg)
            self._maybe_unknown(msg, depth)
            return
        p_set = 0.65 * (0.7 ** depth)
        done_oneofs = set()
        big_field = self._big_field(desc) if self.big_left else None
        if big_field is not None:
            # The large payload goes in first, before the size budget decides anything.
            if big_field.is_repeated:
                getattr(msg, big_field.name).append(self.scalar(big_field))
            else:
                setattr(msg, big_field.name, self.scalar(big_field))
            if real_oneof(big_field) is not None:
                done_oneofs.add(real_oneof(big_field).name)
        for field in desc.fields:
            if field is big_field:
                continue
            oneof = real_oneof(field)
            if oneof is not None:
                if oneof.name in done_oneofs:
                    continue
                done_oneofs.add(oneof.name)
                if self.rng.random() < 0.4 * (0.8 ** depth):
                    continue
                members = [f for f in oneof.fields if self._can_recurse(f, depth)]
                if not members:
                    continue
                self._set_field(msg, self.rng.choice(members), depth, in_oneof=True)
                continue
            if self.rng.random() >= p_set or not self._can_recurse(field, depth):
                continue
            self._set_field(msg, field, depth)
        self._maybe_unknown(msg, depth)

    @staticmethod
    def _big_field(desc):
        candidates = [f for f in desc.fields if f.type in (FD.TYPE_BYTES, FD.TYPE_STRING) and not is_map(f)]
        candidates.sort(key=lambda f: f.type != FD.TYPE_BYTES)
        return candidates[0] if candidates else None

    def _can_recurse(self, field, depth):
        if field.type != FD.TYPE_MESSAGE:
            return True
        return depth < self.opt.max_depth and self.nodes < self.opt.budget

    def _set_field(self, msg, field, depth, in_oneof=False):
        name = field.name
        if is_map(field):
            key_f = field.message_type.fields_by_name["key"]
            val_f = field.message_type.fields_by_name["value"]
            target = getattr(msg, name)
            for _ in range(self._count(4)):
                key = self.scalar(key_f)
                if val_f.type == FD.TYPE_MESSAGE:
                    if not self._can_recurse(val_f, depth):
                        break
                    self.fill(target[key], depth + 1)
                else:
                    target[key] = self.scalar(val_f, singular=True)
            return
        if field.is_repeated:
            target = getattr(msg, name)
            if field.type == FD.TYPE_MESSAGE:
                for _ in range(self._count(3)):
                    if not self._can_recurse(field, depth):
                        break
                    self.fill(target.add(), depth + 1)
            else:
                target.extend(self.scalar(field) for _ in range(self._count(6)))
            return
        if field.type == FD.TYPE_MESSAGE:
            sub = getattr(msg, name)
            sub.SetInParent()
            self.fill(sub, depth + 1)
            return
        value = self.scalar(field, singular=not field.has_presence, in_oneof=in_oneof)
        setattr(msg, name, value)

    def _count(self, typical):
        r = self.rng.random()
        if r < 0.1:
            return 0
        if r < 0.9:
            return self.rng.randint(1, typical)
        return self.rng.randint(typical, typical * 3)

    # -- scalars -----------------------------------------------------------------------------

    def scalar(self, field, singular=False, in_oneof=False):
        t = field.type
        rng = self.rng
        edge = rng.random() < 0.35
        if t in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32):
            return rng.choice(INT32_EDGES) if edge else self._int(*INT32)
        if t in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
            return rng.choice(INT64_EDGES) if edge else self._int(*INT64)
        if t in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
            return rng.choice(UINT32_EDGES) if edge else self._int(*UINT32)
        if t in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
            return rng.choice(UINT64_EDGES) if edge else self._int(*UINT64)
        if t == FD.TYPE_BOOL:
            return rng.random() < 0.5
        if t == FD.TYPE_DOUBLE:
            v = rng.choice(DOUBLE_EDGES) if edge else self._double()
            return self._zero_ok(v, singular)
        if t == FD.TYPE_FLOAT:
            v = rng.choice(FLOAT_EDGES) if edge else self._float()
            return self._zero_ok(v, singular)
        if t == FD.TYPE_ENUM:
            known = [v.number for v in field.enum_type.values]
            if rng.random() < 0.8:
                return rng.choice(known)
            return rng.choice([n for n in UNKNOWN_ENUM_NUMBERS if n not in known])
        if t == FD.TYPE_STRING:
            if self.big_left:
                self.big_left -= 1
                return self._big_string()
            s = self._string()
            if in_oneof and not s and not self.opt.empty_oneof_string:
                s = "x"
            return s
        if t == FD.TYPE_BYTES:
            if self.big_left:
                self.big_left -= 1
                return self.rng.randbytes((1 << 20) + self.rng.randint(0, 4096))
            return self._bytes()
        raise AssertionError(f"unexpected field type {t} of {field.full_name}")

    def _int(self, lo, hi):
        # Mostly small magnitudes (one- and two-byte varints), sometimes anywhere in range.
        r = self.rng.random()
        if r < 0.4:
            return max(lo, min(hi, self.rng.randint(-300, 300)))
        if r < 0.6:
            bits = self.rng.randint(1, 64)
            return max(lo, min(hi, self.rng.randint(-(1 << bits), 1 << bits)))
        return self.rng.randint(lo, hi)

    def _double(self):
        r = self.rng.random()
        if r < 0.4:
            return self.rng.uniform(-1e6, 1e6)
        if r < 0.5:
            return float(self.rng.randint(-1000, 1000))
        v = struct.unpack("<d", self.rng.randbytes(8))[0]
        if math.isnan(v) and not self.opt.nan_payloads:
            return math.nan
        return v

    def _float(self):
        r = self.rng.random()
        if r < 0.4:
            v = self.rng.uniform(-1e4, 1e4)
        elif r < 0.5:
            v = float(self.rng.randint(-1000, 1000))
        else:
            v = struct.unpack("<f", self.rng.randbytes(4))[0]
            if math.isnan(v) and not self.opt.nan_payloads:
                return math.nan
        return struct.unpack("<f", struct.pack("<f", v))[0]

    def _zero_ok(self, v, singular):
        if singular and not self.opt.negative_zero and v == 0.0:
            return 0.0
        return v

    def _string(self):
        if self.rng.random() < 0.15:
            return ""
        pieces = STRING_PIECES if self.opt.nul_in_strings else STRING_PIECES[:-1]
        n = self.rng.randint(1, 12)
        return "".join(self.rng.choice(pieces) for _ in range(n))

    def _big_string(self):
        unit = "".join(self.rng.choice(STRING_PIECES[:-1]) for _ in range(64))
        return unit * ((1 << 20) // len(unit.encode()) + 1)

    def _bytes(self):
        r = self.rng.random()
        if r < 0.15:
            return b""
        if r < 0.25:
            return bytes([self.rng.choice([0, 0xFF, 0x80, 0x7F])]) * self.rng.randint(1, 8)
        return self.rng.randbytes(self.rng.randint(1, 40))

    # -- unknown fields ----------------------------------------------------------------------

    def _maybe_unknown(self, msg, depth):
        if self.opt.unknown_fields and self.rng.random() < 0.5:
            known = {f.number for f in msg.DESCRIPTOR.fields}
            msg.MergeFromString(self.unknown_blob(known))

    def unknown_blob(self, known, nesting=0):
        out = bytearray()
        for _ in range(self.rng.randint(1, 4)):
            number = self._unknown_number(known)
            kinds = [0, 1, 2, 5] + ([3] if self.opt.unknown_groups and nesting < 2 else [])
            kind = self.rng.choice(kinds)
            out += varint(number << 3 | kind)
            if kind == 0:
                out += varint(self.rng.choice([0, 1, 150, UINT64[1], self.rng.getrandbits(64)]))
            elif kind == 1:
                out += self.rng.randbytes(8)
            elif kind == 5:
                out += self.rng.randbytes(4)
            elif kind == 2:
                payload = self.rng.randbytes(self.rng.randint(0, 20))
                out += varint(len(payload)) + payload
            else:
                if self.rng.random() < 0.7:
                    out += self.unknown_blob(set(), nesting + 1)
                out += varint(number << 3 | 4)
        return bytes(out)

    def _unknown_number(self, known):
        while True:
            r = self.rng.random()
            if r < 0.6:
                n = self.rng.randint(1, 200)
            elif r < 0.8:
                n = self.rng.randint(1, (1 << 29) - 1)
            else:
                n = self.rng.choice([15, 16, 2047, 2048, 18999, 19000, 19999, 20000, (1 << 29) - 1])
            if n not in known:
                return n


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


# -- well-known types: values inside the ranges their JSON forms allow ------------------------

TIMESTAMP_SECONDS = (-62135596800, 253402300799)  # 0001-01-01T00:00:00Z … 9999-12-31T23:59:59Z
DURATION_SECONDS = 315576000000


def _nanos(rng):
    r = rng.random()
    if r < 0.25:
        return 0
    if r < 0.4:
        return rng.randint(0, 999) * 1_000_000
    if r < 0.55:
        return rng.randint(0, 999_999) * 1000
    return rng.choice([1, 999_999_999, rng.randint(0, 999_999_999)])


def _fill_timestamp(gen, msg):
    rng = gen.rng
    if rng.random() < 0.2:
        msg.seconds = rng.choice([0, -1, TIMESTAMP_SECONDS[0], TIMESTAMP_SECONDS[1], 951782400, 1709164800])
    else:
        msg.seconds = rng.randint(*TIMESTAMP_SECONDS)
    msg.nanos = _nanos(rng)


def _fill_duration(gen, msg):
    rng = gen.rng
    if rng.random() < 0.2:
        seconds = rng.choice([0, 1, -1, DURATION_SECONDS, -DURATION_SECONDS])
    else:
        seconds = rng.randint(-DURATION_SECONDS, DURATION_SECONDS)
    nanos = _nanos(rng)
    if seconds < 0 or (seconds == 0 and rng.random() < 0.5):
        nanos = -nanos
    msg.seconds = seconds
    msg.nanos = nanos


WELL_KNOWN_FILLERS = {
    "google.protobuf.Timestamp": _fill_timestamp,
    "google.protobuf.Duration": _fill_duration,
    "google.protobuf.Empty": lambda gen, msg: None,
}


# -- inspection ----------------------------------------------------------------------------------

def walk(msg):
    """Yields every message in the tree, the root first."""
    yield msg
    for field, value in msg.ListFields():
        if field.type != FD.TYPE_MESSAGE:
            continue
        if is_map(field):
            if field.message_type.fields_by_name["value"].type == FD.TYPE_MESSAGE:
                for v in value.values():
                    yield from walk(v)
        elif field.is_repeated:
            for v in value:
                yield from walk(v)
        else:
            yield from walk(value)


def has_multi_entry_map(msg):
    """True if any map in the tree has two or more entries (their order is not canonical)."""
    for m in walk(msg):
        for field, value in m.ListFields():
            if is_map(field) and len(value) >= 2:
                return True
    return False


def canonical(msg):
    """Bytes equal exactly when the messages are equal, NaN included (unlike ==)."""
    return msg.SerializeToString(deterministic=True)


def has_default_map_entry(msg):
    """True if a map entry has a zero key or a zero scalar value, which encoders may omit."""
    for m in walk(msg):
        for field, value in m.ListFields():
            if not is_map(field):
                continue
            scalar_value = field.message_type.fields_by_name["value"].type != FD.TYPE_MESSAGE
            for key in value:
                if not key or (scalar_value and not value[key]):
                    return True
    return False
