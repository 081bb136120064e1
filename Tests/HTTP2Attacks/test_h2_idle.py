"""Idle streams (TESTPLAN §2.1, "idle streams"): the keepalive PING that finds a peer gone silent
while it holds streams, and the optional per-stream idle timeout.

Each test starts a server with short timeouts (`--ping-interval-ms`, `--ping-timeout-ms`,
`--stream-idle-timeout-ms`); the defaults (60 s, 20 s, off) are documented in docs/http2.md.
"""

import time

import pytest

from h2util import (
    CANCEL,
    NO_ERROR,
    PING,
    RawConn,
    ServerProcess,
    assert_served,
    data_frame,
    error_name,
    find_server_binary,
    ping_frame,
)

PING_INTERVAL = 1.0
PING_TIMEOUT = 1.0
STREAM_IDLE = 1.5


@pytest.fixture(scope="module")
def keepalive_server():
    process = ServerProcess(
        find_server_binary(),
        extra_args=("--ping-interval-ms", str(int(PING_INTERVAL * 1000)), "--ping-timeout-ms", str(int(PING_TIMEOUT * 1000))),
    ).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def stream_idle_server():
    process = ServerProcess(
        find_server_binary(), extra_args=("--stream-idle-timeout-ms", str(int(STREAM_IDLE * 1000)))
    ).start()
    yield process
    process.stop()


def is_ping(f):
    return f.type == PING and "ACK" not in f.flags


@pytest.mark.time_limit(30)
def test_a_silent_peer_holding_a_stream_is_pinged_then_dropped(keepalive_server):
    """A stream open (POST /echo, body never ended) and then silence, PINGs unanswered: the server
    sends a PING once the peer has been quiet for the interval, then GOAWAY (NO_ERROR) and closes
    the connection once the PING has gone unanswered for the timeout."""
    with RawConn(keepalive_server.port) as conn:
        conn.handshake()
        sid = conn.request("/echo", method="POST", end_stream=False)
        quiet_since = time.monotonic()
        assert conn.stream_reaction(sid, 3) == ("response", 200), conn.describe()
        ping = conn.read_until(is_ping, PING_INTERVAL + 3)
        pinged_after = time.monotonic() - quiet_since
        assert ping is not None, f"no PING to a silent peer with an open stream: {conn.describe()}"
        assert pinged_after >= PING_INTERVAL * 0.9, f"pinged after {pinged_after:.2f} s of silence"
        pinged = time.monotonic()
        assert conn.wait_closed(PING_TIMEOUT + 3), f"the connection stayed open: {conn.describe()}"
        closed_after = time.monotonic() - pinged
        assert conn.goaway is not None and conn.goaway.error_code == NO_ERROR, conn.describe()
        assert sid not in conn.resets, f"stream reset with {error_name(conn.resets.get(sid))} instead"
    assert closed_after >= PING_TIMEOUT * 0.9, f"closed {closed_after:.2f} s after the PING"
    print(f"PING after {pinged_after:.1f} s of silence, closed {closed_after:.1f} s after it")
    assert_served(keepalive_server)


@pytest.mark.time_limit(30)
def test_a_peer_that_answers_pings_keeps_its_quiet_stream(keepalive_server):
    """The same quiet stream, but the peer acknowledges each PING: after several ping intervals the
    connection and the stream are still open, and the stream's handler still answers."""
    with RawConn(keepalive_server.port) as conn:
        conn.handshake()
        sid = conn.request("/echo", method="POST", end_stream=False)
        pings = 0
        deadline = time.monotonic() + 4 * (PING_INTERVAL + PING_TIMEOUT)
        while time.monotonic() < deadline and not conn.closed:
            for f in conn.read_frames(0.2):
                if is_ping(f):
                    pings += 1
                    conn.send(ping_frame(f.opaque_data, ack=True))
        assert pings >= 2, f"{pings} PINGs in {4 * (PING_INTERVAL + PING_TIMEOUT):.0f} s of silence"
        assert not conn.closed and conn.goaway is None, f"a live peer was dropped: {conn.describe()}"
        assert sid not in conn.resets, conn.describe()
        conn.send(data_frame(sid, b"still here", end_stream=True))
        assert conn.wait_stream_end(sid, 3), conn.describe()
        assert sid not in conn.resets, conn.describe()
        body = b"".join(bytes(f.data) for f in conn.received(stream_id=sid) if f.type == 0)
        assert body == b"still here", body


@pytest.mark.time_limit(30)
def test_a_connection_without_streams_is_not_pinged(keepalive_server):
    """Keepalive is for connections that hold streams; an idle connection is left to the (much
    longer) idle timeout, which closes it without a PING."""
    with RawConn(keepalive_server.port) as conn:
        conn.handshake()
        conn.read_frames(2 * (PING_INTERVAL + PING_TIMEOUT) + 1)
        assert not any(is_ping(f) for f in conn.frames), conn.describe()
        assert not conn.closed, conn.describe()


@pytest.mark.time_limit(30)
def test_a_stream_on_which_nothing_moves_is_reset(stream_idle_server):
    """With `streamIdleTimeout`: a stream whose request body stops (its response head sent, nothing
    else either way) is reset with CANCEL after the timeout, while a stream whose body keeps
    coming a little at a time is not, and the connection goes on serving."""
    with RawConn(stream_idle_server.port) as conn:
        conn.handshake()
        quiet = conn.request("/echo", method="POST", end_stream=False)
        moving = conn.request("/echo", method="POST", end_stream=False)
        started = time.monotonic()
        reset_after = None
        sent = b""
        while time.monotonic() - started < STREAM_IDLE + 5:
            piece = b"%d;" % len(sent)
            conn.send(data_frame(moving, piece))
            sent += piece
            conn.read_frames(0.3)
            if quiet in conn.resets and reset_after is None:
                reset_after = time.monotonic() - started
        assert conn.resets.get(quiet) == CANCEL, f"the quiet stream was not reset: {conn.describe()}"
        # Checked once a second from the tick that saw the response head go out (the first or,
        # on a loaded machine, the second): the reset lands 1.5–4 s after the request.
        assert reset_after is not None and STREAM_IDLE * 0.9 <= reset_after <= STREAM_IDLE + 4, f"reset after {reset_after:.2f} s"
        assert moving not in conn.resets, f"a stream that moves was reset: {conn.describe()}"
        conn.send(data_frame(moving, b"end", end_stream=True))
        assert conn.wait_stream_end(moving, 3), conn.describe()
        assert moving not in conn.resets, conn.describe()
        body = b"".join(bytes(f.data) for f in conn.received(stream_id=moving) if f.type == 0)
        assert body == sent + b"end"
        assert conn.stream_reaction(conn.request("/hello"), 3) == ("response", 200), conn.describe()
    print(f"quiet stream reset after {reset_after:.1f} s")
    assert_served(stream_idle_server)
