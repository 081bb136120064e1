"""A small wire-format walker that spots the inputs where upb and Swift part ways on purpose.

It follows the descriptor into sub-messages and into every group, and stops quietly at the
first thing it cannot read (the caller only uses it to explain a specific Swift error)."""

from google.protobuf.descriptor import FieldDescriptor as FD

FIELD_ZERO_UPB_SKIPS = "field number 0 where upb does not check it"
VARINT_OVER_64_BITS = "ten-byte varint with bits beyond 64"
TAG_OVER_5_BYTES = "field tag written in more than five bytes"


class _Stop(Exception):
    pass


def anomalies(data, descriptor):
    found = set()
    try:
        _walk(bytes(data), descriptor, False, found, 0)
    except _Stop:
        pass
    return found


def _varint(data, i, found):
    start = i
    while True:
        if i >= len(data) or i - start >= 10:
            raise _Stop
        byte = data[i]
        i += 1
        if not byte & 0x80:
            if i - start == 10 and byte > 1:
                found.add(VARINT_OVER_64_BITS)
            return _value(data[start:i]), i


def _value(raw):
    v = 0
    for shift, byte in enumerate(raw):
        v |= (byte & 0x7F) << (7 * shift)
    return v


def _walk(data, descriptor, in_group, found, depth, end_group=None):
    """Walks fields until the end of `data` (or the end-group tag for `end_group`); returns the
    index just past what it consumed."""
    if depth > 200:
        raise _Stop
    fields = {f.number: f for f in descriptor.fields} if descriptor is not None else {}
    i = 0
    while i < len(data):
        start = i
        tag, i = _varint(data, i, found)
        if i - start > 5:
            found.add(TAG_OVER_5_BYTES)
        number, wire_type = tag >> 3, tag & 7
        if number == 0 and (in_group or (descriptor is not None and not fields)):
            found.add(FIELD_ZERO_UPB_SKIPS)
        field = fields.get(number)
        if wire_type == 0:
            _, i = _varint(data, i, found)
        elif wire_type == 1:
            i += 8
        elif wire_type == 5:
            i += 4
        elif wire_type == 2:
            length, i = _varint(data, i, found)
            payload = data[i:i + length]
            i += length
            if field is not None and field.type == FD.TYPE_MESSAGE:  # map entries too
                _walk(payload, field.message_type, in_group, found, depth + 1)
            elif field is not None and field.is_repeated and field.type not in (FD.TYPE_STRING, FD.TYPE_BYTES):
                j = 0
                while j < len(payload) and field.type not in (
                        FD.TYPE_FIXED32, FD.TYPE_SFIXED32, FD.TYPE_FLOAT,
                        FD.TYPE_FIXED64, FD.TYPE_SFIXED64, FD.TYPE_DOUBLE):
                    _, j = _varint(payload, j, found)
        elif wire_type == 3:
            consumed = _walk(data[i:], None, True, found, depth + 1, end_group=number)
            i += consumed
        elif wire_type == 4:
            if end_group is not None and number == end_group:
                return i
            raise _Stop
        else:
            raise _Stop
        if i > len(data):
            raise _Stop
    if end_group is not None:
        raise _Stop
    return i
