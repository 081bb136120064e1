"""Resets the server is made to send: MadeYouReset (37), and how client cancellations count."""

import time

import pytest

from h2util import (
    CANCEL,
    CONFIG,
    ENHANCE_YOUR_CALM,
    HEADERS,
    PROTOCOL_ERROR,
    SETTINGS_INITIAL_WINDOW_SIZE,
    STREAM_CLOSED,
    RawConn,
    RssSampler,
    assert_served,
    data_frame,
    error_name,
    rst_frame,
    window_update_frame,
)
from hyperframe.frame import GoAwayFrame, RstStreamFrame

RSS_LIMIT_MIB = 64


def wait_reset(conn: RawConn, stream_id: int, timeout: float):
    """Reads until RST_STREAM on `stream_id`, GOAWAY or close: ('rst', code), ('goaway', code),
    ('closed', None) or ('timeout', None)."""
    if stream_id in conn.resets:
        return ("rst", conn.resets[stream_id])
    f = conn.read_until(
        lambda f: isinstance(f, GoAwayFrame) or (isinstance(f, RstStreamFrame) and f.stream_id == stream_id),
        timeout,
    )
    if f is None:
        return ("closed", None) if conn.closed else ("timeout", None)
    if isinstance(f, GoAwayFrame):
        return ("goaway", f.error_code)
    return ("rst", f.error_code)


def OVERFLOW(sid):
    """Two WINDOW_UPDATEs of 2^31-1: the second overflows whatever the server has sent meanwhile."""
    return window_update_frame(sid, 0x7FFFFFFF) * 2


def _window_update_overflow(conn):
    """A valid POST /echo, then a stream WINDOW_UPDATE that overflows 2^31-1 (stream error
    FLOW_CONTROL_ERROR)."""
    sid = conn.request("/echo", "POST", end_stream=False)
    conn.send(OVERFLOW(sid))
    return sid


def _content_length_mismatch(conn):
    """A valid-looking POST /echo with content-length 10, then 20 bytes of DATA (stream error
    PROTOCOL_ERROR)."""
    sid = conn.request("/echo", "POST", end_stream=False, extra=[("content-length", "10")])
    conn.send(data_frame(sid, b"x" * 20, end_stream=True))
    return sid


def _bytes_stream_window_overflow(conn):
    """GET /bytes?n=1 GiB (the handler starts producing), then a stream WINDOW_UPDATE overflow."""
    sid = conn.request("/bytes?n=1073741824")
    conn.send(OVERFLOW(sid))
    return sid


MADE_YOU_RESET = {
    "window-update-overflow": _window_update_overflow,
    "content-length-mismatch": _content_length_mismatch,
    "bytes-window-overflow": _bytes_stream_window_overflow,
}


@pytest.mark.parametrize("variant", list(MADE_YOU_RESET))
def test_37_made_you_reset_gets_goaway(server, variant):
    """Repeat (valid request, then a frame that forces the server to reset the stream) up to 10k
    times: Execbox's own counter (glitchBurst = 200 resets, invalid and empty frames, refilled at 20/s)
    must send GOAWAY(ENHANCE_YOUR_CALM); the reset streams' work stops (server CPU falls idle);
    RSS stays bounded.

    WINDOW_UPDATE with increment 0 and DATA after END_STREAM are not usable here: nghttp2 1.52
    treats both as connection errors (GOAWAY PROTOCOL_ERROR / STREAM_CLOSED) at once, which
    test_37_zero_window_update_and_data_after_end_stream_are_connection_errors checks."""
    limit = CONFIG["glitchBurst"]
    reactions = {}
    started = time.monotonic()
    with RssSampler(server) as rss, RawConn(server.port) as conn:
        conn.handshake()
        iterations = 0
        for _ in range(10_000):
            sid = MADE_YOU_RESET[variant](conn)
            iterations += 1
            reaction = wait_reset(conn, sid, 3)
            reactions[reaction] = reactions.get(reaction, 0) + 1
            if reaction[0] != "rst":
                break
        conn.wait_closed(3)
    cpu_before = server.cpu_seconds()
    time.sleep(1.0)
    idle_cpu = server.cpu_seconds() - cpu_before
    print(f"MadeYouReset {variant}: {iterations} iterations, reactions {reactions}, {conn.describe()}, "
          f"server CPU in the next second {idle_cpu:.2f} s, RSS +{rss.growth_mib:.1f} MiB")
    assert conn.goaway is not None, f"no GOAWAY after {iterations} forced resets: {conn.describe()}"
    assert conn.goaway.error_code == ENHANCE_YOUR_CALM, error_name(conn.goaway.error_code)
    # Each iteration counts one to four events (the RST sent, the invalid frame, the second
    # WINDOW_UPDATE on the reset stream, a second RST from the finished handler), so GOAWAY
    # comes between limit/4 and limit iterations.
    # The budget refills at glitchRatePerSecond while the attack runs.
    refill = CONFIG["glitchRatePerSecond"] * (time.monotonic() - started)
    assert (limit + 1) // 4 <= iterations <= limit + refill + 2, f"GOAWAY after {iterations} iterations (limit {limit})"
    assert conn.closed
    assert idle_cpu < 0.5, f"the server kept working ({idle_cpu:.2f} s CPU) after the streams were reset"
    assert rss.growth_mib < RSS_LIMIT_MIB
    assert_served(server)


def test_37_zero_window_update_and_data_after_end_stream_are_connection_errors(server):
    """The other two MadeYouReset primitives of TESTPLAN 37 end the connection at the first try."""
    with RawConn(server.port) as conn:
        conn.handshake()
        sid = conn.request("/echo", "POST", end_stream=False)
        conn.send(window_update_frame(sid, 0))
        conn.wait_closed(3)
        assert conn.goaway is not None and conn.closed, conn.describe()
        # RFC 9113 §6.9 calls it a stream error; nghttp2 1.52 makes it a connection error.
        assert conn.goaway.error_code == PROTOCOL_ERROR, conn.describe()
    with RawConn(server.port) as conn:
        conn.handshake([(SETTINGS_INITIAL_WINDOW_SIZE, 0)])  # the response cannot finish
        sid = conn.request("/bytes?n=1000000")
        conn.send(data_frame(sid, b"x"))
        conn.wait_closed(3)
        assert conn.goaway is not None and conn.closed, conn.describe()
        assert conn.goaway.error_code == STREAM_CLOSED, conn.describe()
    assert_served(server)


def _cancel_after_head(conn, count):
    """POST /echo (stream left open), wait for the response head, then RST_STREAM(CANCEL): what a
    well-behaved client does when it gives up on a call."""
    sids = []
    for _ in range(count):
        sid = conn.request("/echo", "POST", end_stream=False)
        conn.read_until(lambda f, sid=sid: f.type == HEADERS and f.stream_id == sid, 3)
        conn.send(rst_frame(sid, CANCEL))
        sids.append(sid)
        if conn.goaway is not None or conn.closed:
            break
    return sids


def test_37_client_rst_stream_is_not_answered_with_rst_stream(server):
    with RawConn(server.port) as conn:
        conn.handshake()
        sids = _cancel_after_head(conn, 20)
        conn.read_frames(1.0)
        answered = {sid: conn.resets[sid] for sid in sids if sid in conn.resets}
        print(f"client cancelled {len(sids)} streams; server RST_STREAM on {len(answered)} of them: "
              f"{ {error_name(c) for c in answered.values()} }")
        assert not answered, (
            f"the server sent RST_STREAM on {len(answered)} of {len(sids)} streams the client had reset "
            f"(codes {sorted({error_name(c) for c in answered.values()})})"
        )
    assert_served(server)


def test_37_legitimate_cancellations_do_not_trip_the_reset_limit(server):
    count = CONFIG["glitchBurst"] + 50
    with RawConn(server.port) as conn:
        conn.handshake()
        sids = _cancel_after_head(conn, count)
        conn.read_frames(0.5)
        if not conn.closed:
            sid = conn.request("/hello")
            reaction = conn.stream_reaction(sid, 3)
        else:
            reaction = ("closed", None)
        print(f"{len(sids)} client cancellations: {conn.describe()}; then GET /hello: {reaction}")
        assert conn.goaway is None, f"GOAWAY after {len(sids)} client cancellations: {conn.describe()}"
        assert reaction == ("response", 200)
    assert_served(server)
