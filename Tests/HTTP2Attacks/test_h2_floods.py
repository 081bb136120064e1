"""Control-frame floods: Rapid Reset (36), SETTINGS abuse (40), PING flood (41), empty frames (42)."""

import time

import pytest

from h2util import (
    CONFIG,
    DATA,
    ENHANCE_YOUR_CALM,
    HEADERS,
    INTERNAL_ERROR,
    PING,
    PROTOCOL_ERROR,
    SETTINGS,
    SETTINGS_MAX_CONCURRENT_STREAMS,
    LatencyProbe,
    RawConn,
    RssSampler,
    assert_served,
    data_frame,
    error_name,
    headers_frame,
    ping_frame,
    priority_frame,
    request_headers,
    rst_frame,
    settings_frame,
)

RSS_LIMIT_MIB = 64
# A client socket buffer this small makes the server's ACKs back up at once ("without reading").
SMALL_RCVBUF = 4096


def rapid_reset(conn: RawConn, max_pairs: int, seconds: float, batch=100):
    """HEADERS (GET /hello, END_STREAM) + RST_STREAM(CANCEL) pairs until GOAWAY, close, `max_pairs`
    or `seconds`; returns the pairs sent."""
    headers = request_headers("/hello")
    pairs = 0
    deadline = time.monotonic() + seconds
    while pairs < max_pairs and time.monotonic() < deadline:
        out = bytearray()
        for _ in range(batch):
            sid = conn.new_stream_id()
            out += headers_frame(sid, conn.encode(headers)) + rst_frame(sid)
        if not conn.send(bytes(out)):
            break
        pairs += batch
        conn.read_frames(0.0005)
        if conn.goaway is not None or conn.closed:
            break
    return pairs


# MARK: 36 Rapid Reset


@pytest.mark.time_limit(30)
def test_36_rapid_reset_gets_goaway(server):
    """20k HEADERS+RST_STREAM pairs on one connection: the server must send GOAWAY once the reset
    budget (nghttp2 stream-reset rate limit, burst 1000 / 33 per s; or Execbox's own reset
    counter) is spent, long before the 20k, and stay healthy."""
    burst, rate = CONFIG["streamResetBurst"], CONFIG["streamResetRatePerSecond"]
    cpu_before = server.cpu_seconds()
    with RssSampler(server) as rss, RawConn(server.port) as conn:
        conn.handshake()
        start = time.monotonic()
        pairs = rapid_reset(conn, max_pairs=20_000, seconds=10)
        conn.wait_goaway_or_close(5)
        elapsed = time.monotonic() - start
        conn.wait_closed(3)
    cpu = server.cpu_seconds() - cpu_before
    print(f"rapid reset: {pairs} pairs sent in {elapsed:.2f} s, {conn.describe()}, server CPU {cpu:.2f} s, "
          f"RSS +{rss.growth_mib:.1f} MiB")
    assert conn.goaway is not None, f"no GOAWAY after {pairs} HEADERS+RST_STREAM pairs: {conn.describe()}"
    assert conn.goaway.error_code in (INTERNAL_ERROR, ENHANCE_YOUR_CALM), conn.describe()
    streams_accepted = (conn.goaway.last_stream_id + 1) // 2
    assert streams_accepted <= burst + rate * elapsed + 200, (
        f"GOAWAY only after {streams_accepted} streams (burst {burst}, {rate}/s, {elapsed:.1f} s)"
    )
    assert pairs < 20_000
    assert conn.closed, "the connection stayed open after GOAWAY"
    assert cpu < 5.0, f"the server spent {cpu:.1f} s of CPU on one rapid-reset connection"
    assert rss.growth_mib < RSS_LIMIT_MIB
    assert_served(server)


@pytest.mark.time_limit(40)
def test_36_rapid_reset_sustained_good_client_latency(server):
    """Rapid Reset on connection after connection for ~3 s while a well-behaved client on its own
    connection keeps doing GET /hello: every one of its requests succeeds and its p99 stays near
    its baseline (bound: 2× baseline, at least 100 ms for a debug build on 2 cores)."""
    with LatencyProbe(server.port) as baseline:
        time.sleep(1.0)
    assert not baseline.failures, baseline.failures
    with RssSampler(server) as rss, LatencyProbe(server.port) as during:
        deadline = time.monotonic() + 3.0
        connections = goaways = 0
        while time.monotonic() < deadline:
            with RawConn(server.port) as conn:
                conn.handshake()
                rapid_reset(conn, max_pairs=5_000, seconds=deadline - time.monotonic())
                conn.wait_goaway_or_close(2)
                connections += 1
                goaways += conn.goaway is not None
    limit = max(2 * baseline.p99(), 0.100)
    print(f"sustained rapid reset: {connections} connections, {goaways} GOAWAYs; good client p99 "
          f"baseline {baseline.p99() * 1000:.1f} ms, under attack {during.p99() * 1000:.1f} ms "
          f"({len(during.latencies)} requests); RSS +{rss.growth_mib:.1f} MiB")
    assert not during.failures, f"the well-behaved client failed during the attack: {during.failures[:5]}"
    assert len(during.latencies) > 10
    assert during.p99() < limit, f"p99 {during.p99() * 1000:.1f} ms over {limit * 1000:.0f} ms"
    assert rss.growth_mib < RSS_LIMIT_MIB
    assert_served(server)


# MARK: 40 SETTINGS abuse


def test_40_settings_with_32_entries_is_accepted(server):
    """The boundary: 32 entries (maxSettingsEntries) are fine and acknowledged."""
    with RawConn(server.port) as conn:
        conn.handshake()
        conn.send(settings_frame([(SETTINGS_MAX_CONCURRENT_STREAMS, 100 + i) for i in range(CONFIG["maxSettingsEntries"])]))
        conn.read_frames(1.0)
        acks = conn.received(SETTINGS, flag="ACK")
        assert len(acks) >= 2, f"our SETTINGS were not both acknowledged: {conn.describe()}"
        assert conn.goaway is None and not conn.closed, conn.describe()
        sid = conn.request("/hello")
        assert conn.stream_reaction(sid, 3) == ("response", 200)
    assert_served(server)


def test_40_settings_with_100_entries_is_a_connection_error(server):
    """One SETTINGS frame with 100 entries (over maxSettingsEntries = 32): GOAWAY, then close."""
    with RawConn(server.port) as conn:
        conn.handshake()
        conn.send(settings_frame([(SETTINGS_MAX_CONCURRENT_STREAMS, 100 + i) for i in range(100)]))
        conn.wait_closed(3)
        print(conn.describe())
        assert conn.goaway is not None, f"no GOAWAY: {conn.describe()}"
        assert conn.goaway.error_code == ENHANCE_YOUR_CALM, conn.describe()
        assert conn.closed
    assert_served(server)


@pytest.mark.parametrize("count", [10_000, 100_000])
def test_40_settings_flood_without_reading_is_closed(server, count):
    """`count` empty SETTINGS frames while never reading the ACKs (small receive buffer): the
    outbound-ACK cap (maxOutboundAcks = 1000) closes the session; RSS stays bounded."""
    with RssSampler(server) as rss, RawConn(server.port, rcvbuf=SMALL_RCVBUF) as conn:
        conn.handshake()
        sent = conn.send_nonblocking(settings_frame() * count, timeout=10)
        closed = conn.wait_closed(5)
    print(f"SETTINGS flood: {sent} bytes sent, {conn.describe()}, RSS +{rss.growth_mib:.1f} MiB")
    assert closed, f"the connection survived {count} unacknowledged SETTINGS: {conn.describe()}"
    acks = len(conn.received(SETTINGS, flag="ACK"))
    assert acks < count, "every SETTINGS was acknowledged: the flood was not detected"
    assert rss.growth_mib < RSS_LIMIT_MIB
    assert_served(server)


# MARK: 41 PING flood


@pytest.mark.parametrize("rcvbuf", [SMALL_RCVBUF, None], ids=["small-rcvbuf", "default-rcvbuf"])
def test_41_ping_flood_without_reading_is_closed(server, rcvbuf):
    """100k PINGs without reading the ACKs: the outbound-ACK cap closes the session; RSS bounded."""
    count = 100_000
    with RssSampler(server) as rss, RawConn(server.port, rcvbuf=rcvbuf) as conn:
        conn.handshake()
        sent = conn.send_nonblocking(ping_frame(b"floodpng") * count, timeout=10)
        closed = conn.wait_closed(5)
    acks = len(conn.received(PING, flag="ACK"))
    print(f"PING flood: {sent} bytes sent, {acks} ACKs read, {conn.describe()}, RSS +{rss.growth_mib:.1f} MiB")
    assert closed, f"the connection survived {count} unread PINGs: {conn.describe()}"
    assert acks < count
    assert rss.growth_mib < RSS_LIMIT_MIB
    assert_served(server)


# MARK: 42 empty-frame flood

EMPTY_FRAME_COUNT = 100_000


def _open_echo(conn):
    """POST /echo without END_STREAM: a stream that stays open."""
    sid = conn.request("/echo", "POST", end_stream=False)
    conn.read_until(lambda f: f.type == HEADERS and f.stream_id == sid, 3)
    return sid


def _zero_length_data(conn):
    sid = _open_echo(conn)
    return data_frame(sid, b"") * EMPTY_FRAME_COUNT


def _priority_on_open_stream(conn):
    sid = _open_echo(conn)
    return priority_frame(sid, 0, 16) * EMPTY_FRAME_COUNT


def _priority_on_idle_streams(conn):
    return b"".join(priority_frame(1001 + 2 * i, 0, 16) for i in range(EMPTY_FRAME_COUNT))


def _headers_without_end_stream(conn):
    headers = request_headers("/echo", "POST")
    return b"".join(
        headers_frame(conn.new_stream_id(), conn.encode(headers), end_stream=False) for _ in range(1000)
    )


EMPTY_FLOODS = {
    "zero-length-DATA": _zero_length_data,
    "PRIORITY-open-stream": _priority_on_open_stream,
    "PRIORITY-idle-streams": _priority_on_idle_streams,
    "HEADERS-without-END_STREAM": _headers_without_end_stream,
}


_flood_results = {}


def _run_empty_flood(server, name):
    """Runs one flood once per module: the two tests below share the result."""
    if name not in _flood_results or _flood_results[name][0] != server.pid:
        _flood_results[name] = (server.pid, _flood(server, name))
    return _flood_results[name][1]


def _flood(server, name):
    with RssSampler(server) as rss, RawConn(server.port) as conn:
        conn.handshake()
        payload = EMPTY_FLOODS[name](conn)
        cpu_before = server.cpu_seconds()
        start = time.monotonic()
        sent = conn.send_nonblocking(payload, timeout=15)
        closed = conn.wait_closed(1.5)
        alive_ping = None
        if not closed:
            conn.send(ping_frame(b"stillok?"))
            alive_ping = conn.read_until(lambda f: f.type == PING and "ACK" in f.flags, 3) is not None
        cpu = server.cpu_seconds() - cpu_before
        elapsed = time.monotonic() - start
    print(f"empty-frame flood {name}: {sent}/{len(payload)} bytes in {elapsed:.2f} s, server CPU {cpu:.2f} s, "
          f"{conn.describe()}, connection still answers PING: {alive_ping}, RSS +{rss.growth_mib:.1f} MiB")
    return conn, sent, len(payload), cpu, rss


@pytest.mark.parametrize("name", list(EMPTY_FLOODS))
def test_42_empty_frame_flood_server_survives(server, name):
    """Zero-length DATA, PRIORITY frames, HEADERS without END_STREAM: whatever the server does with
    the connection, CPU and RSS stay bounded and a well-behaved client is served."""
    conn, sent, total, cpu, rss = _run_empty_flood(server, name)
    assert cpu < 5.0, f"{cpu:.1f} s of server CPU for one flood"
    assert rss.growth_mib < RSS_LIMIT_MIB
    assert_served(server)




@pytest.mark.parametrize(
    "name",
    [
        "zero-length-DATA",
        "PRIORITY-open-stream",
        "PRIORITY-idle-streams",
        "HEADERS-without-END_STREAM",
    ],
)
def test_42_empty_frame_flood_closes_connection(server, name):
    """TESTPLAN 42: the connection is closed after a threshold (100k frames is far above any)."""
    conn, sent, total, cpu, rss = _run_empty_flood(server, name)
    assert conn.closed, f"{name}: {sent} bytes of empty frames and the connection is still open: {conn.describe()}"
    if conn.goaway is not None:
        assert conn.goaway.error_code in (PROTOCOL_ERROR, ENHANCE_YOUR_CALM), error_name(conn.goaway.error_code)


def test_42_zero_length_data_frames_do_not_break_the_stream(server):
    """After a few zero-length DATA frames the stream still echoes its body."""
    with RawConn(server.port) as conn:
        conn.handshake()
        sid = _open_echo(conn)
        conn.send(data_frame(sid, b"") * 10 + data_frame(sid, b"abc", end_stream=True))
        conn.wait_stream_end(sid, 3)
        body = b"".join(f.data for f in conn.received(DATA, stream_id=sid))
        assert body == b"abc", conn.describe()
    assert_served(server)
