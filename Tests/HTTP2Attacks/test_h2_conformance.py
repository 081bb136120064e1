"""h2spec-style conformance cases (47), written with raw frames because h2spec is not packaged."""

import concurrent.futures
import socket
import struct
import time

import pytest

from h2util import (
    COMPRESSION_ERROR,
    DATA,
    FLOW_CONTROL_ERROR,
    FRAME_SIZE_ERROR,
    HEADERS,
    PING,
    PREFACE,
    PRIORITY,
    PROTOCOL_ERROR,
    PUSH_PROMISE,
    RST_STREAM,
    SETTINGS,
    SETTINGS_ENABLE_PUSH,
    SETTINGS_INITIAL_WINDOW_SIZE,
    SETTINGS_MAX_FRAME_SIZE,
    STREAM_CLOSED,
    WINDOW_UPDATE,
    RawConn,
    assert_served,
    continuation_frame,
    data_frame,
    error_name,
    frame,
    headers_frame,
    ping_frame,
    request_headers,
    settings_frame,
    window_update_frame,
)


def _open_echo(conn):
    return conn.request("/echo", "POST", end_stream=False)


# MARK: connection errors: (what to send after the handshake, acceptable GOAWAY codes)


def _oversized(ftype):
    def send(conn):
        if ftype == DATA:
            sid = _open_echo(conn)
            conn.send(frame(DATA, 0, sid, b"x" * 16385))
        elif ftype == HEADERS:
            conn.send(frame(HEADERS, 0x4 | 0x1, 1, b"\x82" * 16385))
        else:
            conn.send(frame(ftype, 0, 0, b"x" * 16385))
    return send


CONNECTION_ERRORS = {
    # RFC 9113 §4.2: a frame over SETTINGS_MAX_FRAME_SIZE (16384 here).
    "oversized-DATA": (_oversized(DATA), {FRAME_SIZE_ERROR}),
    "oversized-HEADERS": (_oversized(HEADERS), {FRAME_SIZE_ERROR}),
    "oversized-PING": (_oversized(PING), {FRAME_SIZE_ERROR}),
    "oversized-unknown-type": (_oversized(0xFA), {FRAME_SIZE_ERROR}),
    # §6.9.1: the connection window beyond 2^31-1.
    "window-update-overflow-connection": (lambda c: c.send(window_update_frame(0, 0x7FFFFFFF)), {FLOW_CONTROL_ERROR}),
    "window-update-zero-connection": (lambda c: c.send(window_update_frame(0, 0)), {PROTOCOL_ERROR}),
    "window-update-length-3": (lambda c: c.send(frame(WINDOW_UPDATE, 0, 0, b"\0\0\1")), {FRAME_SIZE_ERROR}),
    # §6.5
    "settings-ack-with-payload": (lambda c: c.send(frame(SETTINGS, 0x1, 0, b"\0" * 6)), {FRAME_SIZE_ERROR}),
    "settings-on-stream-1": (lambda c: c.send(frame(SETTINGS, 0, 1, b"")), {PROTOCOL_ERROR}),
    "settings-length-not-multiple-of-6": (lambda c: c.send(frame(SETTINGS, 0, 0, b"\0" * 5)), {FRAME_SIZE_ERROR}),
    "settings-initial-window-too-large": (
        lambda c: c.send(settings_frame([(SETTINGS_INITIAL_WINDOW_SIZE, 0x80000000)])), {FLOW_CONTROL_ERROR}),
    "settings-max-frame-size-too-small": (
        lambda c: c.send(settings_frame([(SETTINGS_MAX_FRAME_SIZE, 16383)])), {PROTOCOL_ERROR}),
    "settings-enable-push-2": (lambda c: c.send(settings_frame([(SETTINGS_ENABLE_PUSH, 2)])), {PROTOCOL_ERROR}),
    # §6.7
    "ping-length-7": (lambda c: c.send(frame(PING, 0, 0, b"\0" * 7)), {FRAME_SIZE_ERROR}),
    "ping-on-stream-1": (lambda c: c.send(frame(PING, 0, 1, b"\0" * 8)), {PROTOCOL_ERROR}),
    # §6.4
    "rst-stream-on-stream-0": (lambda c: c.send(frame(RST_STREAM, 0, 0, b"\0\0\0\x08")), {PROTOCOL_ERROR}),
    "rst-stream-on-idle-stream": (lambda c: c.send(frame(RST_STREAM, 0, 7, b"\0\0\0\x08")), {PROTOCOL_ERROR}),
    "rst-stream-length-3": (lambda c: (_open_echo(c), c.send(frame(RST_STREAM, 0, 1, b"\0\0\x08"))), {FRAME_SIZE_ERROR}),
    # §6.1
    "data-on-stream-0": (lambda c: c.send(data_frame(0, b"x")), {PROTOCOL_ERROR}),
    "data-on-idle-stream": (lambda c: c.send(data_frame(5, b"x")), {PROTOCOL_ERROR, STREAM_CLOSED}),
    # §6.10: CONTINUATION without HEADERS; another frame inside a header block.
    "continuation-without-headers": (lambda c: c.send(continuation_frame(1, b"", end_headers=True)), {PROTOCOL_ERROR}),
    "frame-inside-header-block": (
        lambda c: c.send(headers_frame(1, c.encode(request_headers()), end_headers=False) + ping_frame()),
        {PROTOCOL_ERROR},
    ),
    # §6.2: padding longer than the payload.
    "headers-padding-too-long": (lambda c: c.send(frame(HEADERS, 0x8 | 0x4 | 0x1, 1, b"\xff" + b"\x82")), {PROTOCOL_ERROR}),
    # §8.4: a client must not send PUSH_PROMISE.
    "push-promise-from-client": (
        lambda c: (_open_echo(c), c.send(frame(PUSH_PROMISE, 0x4, 1, struct.pack(">I", 2) + c.encode(request_headers())))),
        {PROTOCOL_ERROR},
    ),
    # §5.3.1 says a stream depending on itself is a stream error (PROTOCOL_ERROR); nghttp2 makes it
    # a connection error, which is stricter and accepted here.
    "headers-priority-self-dependency": (
        lambda c: c.send(frame(HEADERS, 0x20 | 0x4 | 0x1, 1, struct.pack(">IB", 1, 15) + c.encode(request_headers()))),
        {PROTOCOL_ERROR},
    ),
    "priority-self-dependency": (
        lambda c: (lambda sid: c.send(frame(PRIORITY, 0, sid, struct.pack(">IB", sid, 15))))(_open_echo(c)),
        {PROTOCOL_ERROR},
    ),
    # RFC 7541: an index beyond the tables; a table-size update above SETTINGS_HEADER_TABLE_SIZE.
    "hpack-index-out-of-range": (lambda c: c.send(headers_frame(1, b"\xff\x80\x10")), {COMPRESSION_ERROR}),
    "hpack-table-size-update-too-large": (lambda c: c.send(headers_frame(1, b"\x3f\xe1\xff\x03" + b"\x82")), {COMPRESSION_ERROR}),
}


@pytest.mark.parametrize("name", list(CONNECTION_ERRORS))
def test_47_connection_errors(server, name):
    action, codes = CONNECTION_ERRORS[name]
    with RawConn(server.port) as conn:
        conn.handshake()
        conn.read_frames(0.05)
        action(conn)
        conn.wait_closed(2)
        print(f"{name}: {conn.describe()}")
        assert conn.goaway is not None, f"{name}: no GOAWAY: {conn.describe()}"
        assert conn.goaway.error_code in codes, (
            f"{name}: GOAWAY {error_name(conn.goaway.error_code)}, expected {[error_name(c) for c in codes]}"
        )
        assert conn.closed, f"{name}: the connection stayed open after GOAWAY"
    assert_served(server)


# MARK: stream errors


STREAM_ERRORS = {
    # §6.9.1: a stream window beyond 2^31-1 (two updates so the second overflows for certain).
    "window-update-overflow-stream": (
        lambda c: (lambda sid: (c.send(window_update_frame(sid, 0x7FFFFFFF) * 2), sid)[1])(_open_echo(c)),
        {FLOW_CONTROL_ERROR},
    ),
}


@pytest.mark.parametrize("name", list(STREAM_ERRORS))
def test_47_stream_errors(server, name):
    """A stream error resets only the stream: RST_STREAM with the code, then the connection serves."""
    action, codes = STREAM_ERRORS[name]
    with RawConn(server.port) as conn:
        conn.handshake()
        sid = action(conn)
        assert conn.wait_stream_end(sid, 3), conn.describe()
        print(f"{name}: {conn.describe()}")
        assert conn.resets.get(sid) in codes, f"{name}: stream {sid} ended with {conn.resets.get(sid)}: {conn.describe()}"
        assert conn.goaway is None
        after = conn.request("/hello")
        assert conn.stream_reaction(after, 3) == ("response", 200)
    assert_served(server)


# MARK: unknown frames


def test_47_unknown_frame_types_are_ignored(server):
    """§4.1/§5.5: unknown frame types (any flags, on stream 0, open or idle streams) are ignored."""
    with RawConn(server.port) as conn:
        conn.handshake()
        sid = _open_echo(conn)
        conn.send(
            frame(0xFA, 0xFF, 0, b"hello")
            + frame(0x20, 0x00, sid, b"x" * 100)
            + frame(0xFF, 0x01, 99, b"")
            + frame(0x0B, 0x00, 0, b"\0" * 16384)
        )
        conn.send(data_frame(sid, b"abc", end_stream=True))
        assert conn.wait_stream_end(sid, 3), conn.describe()
        assert b"".join(f.data for f in conn.received(DATA, stream_id=sid)) == b"abc"
        conn.send(ping_frame(b"unknown!"))
        assert conn.read_until(lambda f: f.type == PING and "ACK" in f.flags, 3) is not None
        after = conn.request("/hello")
        assert conn.stream_reaction(after, 3) == ("response", 200)
        assert conn.goaway is None, conn.describe()
    assert_served(server)


# MARK: header fields


HEADER_STREAM_ERRORS = {
    "uppercase-name": request_headers(extra=[("X-Upper", "1")]),
    "connection-header": request_headers(extra=[("connection", "keep-alive")]),
    "keep-alive-header": request_headers(extra=[("keep-alive", "timeout=5")]),
    "proxy-connection-header": request_headers(extra=[("proxy-connection", "keep-alive")]),
    "upgrade-header": request_headers(extra=[("upgrade", "h2c")]),
    "transfer-encoding-header": request_headers(extra=[("transfer-encoding", "chunked")]),
    "te-gzip": request_headers(extra=[("te", "gzip")]),
    "duplicate-path": [(":method", "GET"), (":scheme", "http"), (":path", "/hello"), (":path", "/hello"), (":authority", "a")],
    "duplicate-method": [(":method", "GET"), (":method", "GET"), (":scheme", "http"), (":path", "/hello"), (":authority", "a")],
    "missing-method": [(":scheme", "http"), (":path", "/hello"), (":authority", "a")],
    "missing-scheme": [(":method", "GET"), (":path", "/hello"), (":authority", "a")],
    "missing-path": [(":method", "GET"), (":scheme", "http"), (":authority", "a")],
    "pseudo-after-regular": [(":method", "GET"), (":scheme", "http"), ("x-a", "1"), (":path", "/hello"), (":authority", "a")],
    "unknown-pseudo": request_headers(extra=[(":foo", "bar")]),
    "response-pseudo-in-request": request_headers(extra=[(":status", "200")]),
}


@pytest.mark.parametrize("name", list(HEADER_STREAM_ERRORS))
def test_47_malformed_header_fields_are_stream_errors(server, name):
    """§8.2 / §8.3: RST_STREAM(PROTOCOL_ERROR) for the request; the connection still serves."""
    with RawConn(server.port) as conn:
        conn.handshake()
        sid = conn.new_stream_id()
        conn.send(headers_frame(sid, conn.encode(HEADER_STREAM_ERRORS[name])))
        reaction = conn.stream_reaction(sid, 3)
        assert reaction == ("rst", PROTOCOL_ERROR), f"{name}: {reaction}, {conn.describe()}"
        after = conn.request("/hello")
        assert conn.stream_reaction(after, 3) == ("response", 200), conn.describe()
    assert_served(server)


def test_47_te_trailers_is_allowed(server):
    """The positive control: `te: trailers` is the one TE value allowed (§8.2.2)."""
    with RawConn(server.port) as conn:
        conn.handshake()
        sid = conn.request("/hello", extra=[("te", "trailers")])
        assert conn.stream_reaction(sid, 3) == ("response", 200)
    assert_served(server)


# MARK: invalid preface

INVALID_PREFACES = {
    "wrong-magic-tail": b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n",
    "lowercase-magic": b"pri * http/2.0\r\n\r\nsm\r\n\r\n",
    "settings-without-preface": settings_frame(),
    "binary-garbage": bytes(range(256)) * 4,
    "text-garbage": b"\x00garbage\r\n\r\n",
}


def _raw_exchange(port, data, seconds, stop_at_response=False):
    """Sends `data`; reads for up to `seconds` (or, with `stop_at_response`, until a complete
    bodiless HTTP/1.1 response head): (bytes received, 'eof' | 'reset' | 'open')."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        sock.sendall(data)
        sock.settimeout(0.2)
        received = b""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return received, "reset"
            if not chunk:
                return received, "eof"
            received += chunk
            if stop_at_response and received.startswith(b"HTTP/1.1 ") and b"\r\n\r\n" in received:
                return received, "open"
        return received, "open"
    finally:
        sock.close()


@pytest.mark.parametrize("name", list(INVALID_PREFACES))
def test_47_invalid_preface_is_answered(server, name):
    """A connection that does not start with the HTTP/2 preface goes to the HTTP/1.1 side, which
    must answer 400 (or close): no crash, no silence."""
    received, state = _raw_exchange(server.port, INVALID_PREFACES[name], 3.0, stop_at_response=True)
    print(f"{name}: {state}, {received[:80]!r}")
    assert received.startswith(b"HTTP/1.1 400") or state in ("eof", "reset"), f"{name}: {state}, {received[:200]!r}"
    assert_served(server)


def test_47_invalid_preface_connection_is_closed(server):
    """After its 400 with `Connection: close`, the server closes the connection (within 2 s)."""
    names = ["wrong-magic-tail", "binary-garbage", "text-garbage"]
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        results = list(pool.map(lambda n: _raw_exchange(server.port, INVALID_PREFACES[n], 2.0), names))
    for name, (received, state) in zip(names, results):
        print(f"{name}: {state}, {received[:80]!r}")
    still_open = [name for name, (_, state) in zip(names, results) if state == "open"]
    assert not still_open, f"still open 2 s after the 400: {still_open}"


def test_47_preface_then_non_settings_frame_is_a_connection_error(server):
    """§3.4: the preface must be followed by SETTINGS; anything else is PROTOCOL_ERROR."""
    with RawConn(server.port) as conn:
        conn.send(PREFACE + ping_frame())
        conn.wait_closed(2)
        assert conn.goaway is not None and conn.goaway.error_code == PROTOCOL_ERROR, conn.describe()
        assert conn.closed
    assert_served(server)
