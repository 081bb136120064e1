"""Header blocks: CONTINUATION flood (38), HPACK bomb (39), malformed request start (48)."""


import pytest

from h2util import (
    CONFIG,
    HEADERS,
    RawConn,
    RssSampler,
    assert_served,
    continuation_frame,
    error_name,
    headers_frame,
    request_headers,
)

RSS_LIMIT_MIB = 64


# MARK: 38 CONTINUATION flood


@pytest.mark.parametrize("count", [9, 1000])
def test_38_continuation_flood_closes_connection(server, count):
    """HEADERS without END_HEADERS, then `count` empty CONTINUATIONs: past maxContinuations (8)
    nghttp2 fails the session (NGHTTP2_ERR_TOO_MANY_CONTINUATIONS) and the connection closes.
    (nghttp2 returns the error without queueing a GOAWAY, so none is required here.)"""
    with RssSampler(server) as rss, RawConn(server.port) as conn:
        conn.handshake()
        sid = conn.new_stream_id()
        conn.send(headers_frame(sid, conn.encode(request_headers("/hello")), end_headers=False))
        sent = 0
        for _ in range(count):
            if not conn.send(continuation_frame(sid)):
                break
            sent += 1
        closed = conn.wait_closed(3)
    print(f"{count} empty CONTINUATIONs: {sent} written before the close; {conn.describe()}")
    assert closed, f"the connection survived {count} empty CONTINUATION frames: {conn.describe()}"
    assert not conn.received(HEADERS, stream_id=sid), "the request was answered"
    if conn.goaway is not None:
        assert conn.goaway.error_code != 0, conn.describe()
    assert rss.growth_mib < RSS_LIMIT_MIB
    assert_served(server)


def test_38_eight_continuations_are_allowed(server):
    """The boundary: HEADERS + 8 empty CONTINUATIONs (the last with END_HEADERS) is a request."""
    with RawConn(server.port) as conn:
        conn.handshake()
        sid = conn.new_stream_id()
        frames = headers_frame(sid, conn.encode(request_headers("/hello")), end_headers=False)
        frames += continuation_frame(sid) * 7 + continuation_frame(sid, end_headers=True)
        conn.send(frames)
        assert conn.stream_reaction(sid, 3) == ("response", 200), conn.describe()
    assert_served(server)


def test_38_eight_16k_frames_hit_the_header_list_cap(server):
    """HEADERS + 7 CONTINUATIONs of 16 KiB each (128 KiB of header block, 32 fields of 4000 bytes):
    within the CONTINUATION allowance but over maxHeaderListSize (64 KiB), so the stream is reset
    and the connection stays usable."""
    with RssSampler(server) as rss, RawConn(server.port) as conn:
        conn.handshake()
        sid = conn.new_stream_id()
        fields = request_headers("/hello") + [(f"x-h{i}", "a" * 4000, True) for i in range(32)]
        block = conn.encode(fields, huffman=False)  # never-indexed: the HPACK table is untouched
        chunks = [block[i : i + 16384] for i in range(0, len(block), 16384)]
        assert len(chunks) == 8
        out = headers_frame(sid, chunks[0], end_headers=False)
        for i, chunk in enumerate(chunks[1:], start=2):
            out += continuation_frame(sid, chunk, end_headers=i == len(chunks))
        conn.send(out)
        reaction = conn.stream_reaction(sid, 3)
        print(f"128 KiB header block: {reaction}, {conn.describe()}")
        assert reaction[0] == "rst", f"expected RST_STREAM over the header-list cap, got {reaction}"
        after = conn.request("/hello")
        assert conn.stream_reaction(after, 3) == ("response", 200), conn.describe()
    assert rss.growth_mib < RSS_LIMIT_MIB
    assert_served(server)


# MARK: 39 HPACK bomb

BOMB_VALUE = "b" * 4000  # 6 + 4000 + 32 = 4038 bytes of table entry: fits the 4096-byte table


def _bomb_block(conn, references: int) -> bytes:
    """GET /hello plus `x-bomb: <4000 bytes>` inserted into the dynamic table (incremental
    indexing), then `references` more copies by index 62 (the newest dynamic entry, one byte each)."""
    block = conn.encode(request_headers("/hello") + [("x-bomb", BOMB_VALUE)], huffman=False)
    return block + b"\xbe" * references


def test_39_hpack_bomb_is_reset_and_rss_stays_flat(server):
    """12000 one-byte references to a 4 KB entry (48 MB decoded per request, 20 requests): each
    stream is reset by Execbox's header-byte counter; RSS stays flat; the connection (and its
    HPACK state) stays usable."""
    with RssSampler(server) as rss, RawConn(server.port) as conn:
        conn.handshake()
        cpu_before = server.cpu_seconds()
        reactions = {}
        for _ in range(20):
            sid = conn.new_stream_id()
            conn.send(headers_frame(sid, _bomb_block(conn, 12000)))
            reaction = conn.stream_reaction(sid, 3)
            reactions[reaction] = reactions.get(reaction, 0) + 1
        cpu = server.cpu_seconds() - cpu_before
        after = conn.request("/hello")
        follow_up = conn.stream_reaction(after, 3)
    print(f"HPACK bomb: reactions {reactions}, server CPU {cpu:.2f} s, RSS +{rss.growth_mib:.1f} MiB, "
          f"then {follow_up}")
    assert set(reactions) <= {("rst", code) for code in range(0x10)}, f"a bomb was not reset: {reactions}"
    assert follow_up == ("response", 200)
    assert rss.growth_mib < 16, f"RSS grew {rss.growth_mib:.1f} MiB"
    assert cpu < 5.0
    assert_served(server)


def test_39_header_list_limit_is_64_kib(server):
    """The counter's boundary (name + value + 32 per field, RFC 9113 §6.5.2): 16 copies of the
    4038-byte field plus the pseudo-headers (64,787 bytes) are served; 17 (68,825) are reset."""
    assert CONFIG["maxHeaderListSize"] == 65536
    with RawConn(server.port) as conn:
        conn.handshake()
        under = conn.new_stream_id()
        conn.send(headers_frame(under, _bomb_block(conn, 15)))
        assert conn.stream_reaction(under, 3) == ("response", 200), conn.describe()
        over = conn.new_stream_id()
        conn.send(headers_frame(over, _bomb_block(conn, 16)))
        reaction = conn.stream_reaction(over, 3)
        assert reaction[0] == "rst", f"17 × 4038 bytes of headers were not reset: {reaction}"
    assert_served(server)


# MARK: 48 malformed request start

MALFORMED = {
    # name: the header list as sent (pseudo-headers in order, duplicates allowed)
    "no-authority-no-host": [(":method", "GET"), (":scheme", "http"), (":path", "/hello")],
    "host-instead-of-authority": [(":method", "GET"), (":scheme", "http"), (":path", "/hello"), ("host", "a")],
    "empty-path": request_headers(""),
    "path-without-slash": request_headers("hello"),
    "asterisk-path-GET": request_headers("*"),
    "asterisk-path-OPTIONS": request_headers("*", "OPTIONS"),
    "empty-method": request_headers("/hello", ""),
    "missing-method": [(":scheme", "http"), (":path", "/hello"), (":authority", "a")],
    "missing-scheme": [(":method", "GET"), (":path", "/hello"), (":authority", "a")],
    "missing-path": [(":method", "GET"), (":scheme", "http"), (":authority", "a")],
    "CONNECT-without-authority": [(":method", "CONNECT")],
    "CONNECT-with-path": [(":method", "CONNECT"), (":authority", "a:1"), (":path", "/")],
    "grpc-garbage-content-type": request_headers("/hello", extra=[("content-type", "application/grpc+garbage")]),
    "grpc-without-te-trailers": request_headers("/hello", "POST", extra=[("content-type", "application/grpc")]),
    "status-pseudo-in-request": request_headers("/hello", extra=[(":status", "200")]),
    "nul-in-value": request_headers("/hello", extra=[("x-a", "a\x00b")]),
    "crlf-in-value": request_headers("/hello", extra=[("x-a", "a\r\nx-b: c")]),
    "space-in-name": request_headers("/hello", extra=[("x a", "1")]),
    "empty-name": request_headers("/hello", extra=[("", "1")]),
    "bad-content-length": request_headers("/hello", extra=[("content-length", "abc")]),
    "negative-content-length": request_headers("/hello", extra=[("content-length", "-1")]),
    "two-content-lengths": request_headers("/hello", extra=[("content-length", "1"), ("content-length", "2")]),
    "content-length-without-body": request_headers("/echo", "POST", extra=[("content-length", "5")]),
    "60k-path": request_headers("/" + "a" * 60000),
    "very-long-method": request_headers("/hello", "G" * 10000),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_48_malformed_request_start(server, name):
    """Each request (END_STREAM, split into CONTINUATIONs when large) gets a clean reaction: a
    response or RST_STREAM on its stream, never a hang, a connection error or a crash; then a
    normal request on the same connection is served."""
    with RawConn(server.port) as conn:
        conn.handshake()
        sid = conn.new_stream_id()
        conn.send_header_block(sid, conn.encode(MALFORMED[name]), end_stream=True)
        reaction = conn.stream_reaction(sid, 3)
        print(f"{name}: {reaction[0]} {error_name(reaction[1]) if reaction[0] == 'rst' else reaction[1]}")
        assert reaction[0] in ("response", "rst"), f"{name}: {reaction}, {conn.describe()}"
        if reaction[0] == "response":
            assert 200 <= reaction[1] < 600
            assert conn.wait_stream_end(sid, 3), conn.describe()
        after = conn.request("/hello")
        assert conn.stream_reaction(after, 3) == ("response", 200), conn.describe()
    assert_served(server)


def test_48_no_authority_and_empty_path_are_refused(server):
    """The grpc-go CVE-2026-84445 class: a request without :authority or Host, and one with an
    empty :path, must not reach a handler (stream reset, no 200)."""
    for name in ("no-authority-no-host", "empty-path", "path-without-slash", "missing-path"):
        with RawConn(server.port) as conn:
            conn.handshake()
            sid = conn.new_stream_id()
            conn.send_header_block(sid, conn.encode(MALFORMED[name]), end_stream=True)
            reaction = conn.stream_reaction(sid, 3)
            assert reaction[0] == "rst" or (reaction[0] == "response" and reaction[1] >= 400), f"{name}: {reaction}"
    assert_served(server)
