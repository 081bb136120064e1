"""Flow control and backpressure: zero window and dribble (43), a paused 1 GiB download."""

import hashlib
import os
import time

import h2.settings
import pytest

from h2util import (
    CANCEL,
    DATA,
    HEADERS,
    MiB,
    SETTINGS_INITIAL_WINDOW_SIZE,
    H2Client,
    RawConn,
    RssSampler,
    assert_served,
    pattern_bytes,
    rst_frame,
    window_update_frame,
)

RSS_LIMIT_MIB = 64
GiB = 1 << 30
# The backpressure download's size: 1 GiB by default (about 7 s here, read by h2 in Python).
BACKPRESSURE_BYTES = int(os.environ.get("HTTP2_BACKPRESSURE_BYTES", str(GiB)))


class PatternChecker:
    """Checks a /bytes body incrementally (byte i is i % 251) and hashes it."""

    def __init__(self):
        self.offset = 0
        self.mismatch_at = None
        self.sha = hashlib.sha256()
        self._period = pattern_bytes(0, MiB + 251)

    def feed(self, data):
        view = memoryview(data)
        position = 0
        while position < len(view):
            take = min(len(view) - position, MiB)
            start = (self.offset + position) % 251
            if self.mismatch_at is None and view[position : position + take] != self._period[start : start + take]:
                piece = bytes(view[position : position + take])
                expected = self._period[start : start + take]
                first = next(i for i in range(take) if piece[i] != expected[i])
                self.mismatch_at = self.offset + position + first
            position += take
        self.sha.update(view)
        self.offset += len(view)


def expected_sha256(n: int) -> str:
    sha = hashlib.sha256()
    period = pattern_bytes(0, 251 * 4177)  # ~1 MiB of whole periods
    full, rest = divmod(n, len(period))
    for _ in range(full):
        sha.update(period)
    sha.update(period[:rest])
    return sha.hexdigest()


# MARK: 43 zero window and dribble


@pytest.mark.time_limit(40)
def test_43_zero_window_holds_rss_flat_and_others_are_served(server):
    """SETTINGS_INITIAL_WINDOW_SIZE = 0, then GET /bytes?n=1 GiB: the server sends the head and no
    DATA, its RSS stays flat for 3 s, and other connections are served within 1 s meanwhile."""
    with RssSampler(server) as rss, RawConn(server.port) as conn:
        conn.handshake([(SETTINGS_INITIAL_WINDOW_SIZE, 0)])
        sid = conn.request(f"/bytes?n={GiB}")
        assert conn.stream_reaction(sid, 3) == ("response", 200), conn.describe()
        served = []
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            served.append(assert_served(server, within=1.0))
            conn.read_frames(0.5)
        assert not conn.received(DATA, stream_id=sid), "DATA sent into a zero window"
        cpu_before = server.cpu_seconds()
        time.sleep(0.5)
        stalled_cpu = server.cpu_seconds() - cpu_before
        conn.send(rst_frame(sid, CANCEL))
    print(f"zero window: RSS +{rss.growth_mib:.1f} MiB over 3 s; other clients {max(served) * 1000:.1f} ms worst; "
          f"server CPU while stalled {stalled_cpu:.2f} s per 0.5 s")
    assert rss.growth_mib < RSS_LIMIT_MIB
    assert stalled_cpu < 0.25, "the server spins while the window is zero"
    assert_served(server)


@pytest.mark.time_limit(40)
def test_43_many_zero_window_streams_hold_a_small_buffer_each(server):
    """100 streams (the concurrency limit) on each of 3 connections, all GET /bytes?n=1 GiB into a
    zero window: the server's buffers stay small (RSS < +64 MiB in all, i.e. < 220 KiB a stream)."""
    conns = []
    with RssSampler(server) as rss:
        try:
            for _ in range(3):
                conn = RawConn(server.port)
                conns.append(conn)
                conn.handshake([(SETTINGS_INITIAL_WINDOW_SIZE, 0)])
                sids = [conn.request(f"/bytes?n={GiB}") for _ in range(100)]
                heads = 0
                deadline = time.monotonic() + 5
                while heads < len(sids) and time.monotonic() < deadline:
                    conn.read_frames(0.2)
                    heads = len({f.stream_id for f in conn.received(HEADERS)})
                assert heads == len(sids), f"only {heads} of {len(sids)} responses started: {conn.describe()}"
            time.sleep(2.0)
            assert_served(server, within=1.0)
        finally:
            for conn in conns:
                conn.close()
    print(f"300 zero-window streams: RSS +{rss.growth_mib:.1f} MiB")
    assert rss.growth_mib < RSS_LIMIT_MIB
    time.sleep(0.5)
    assert_served(server)


def test_43_dribble_delivers_the_pattern(server):
    """A 1-byte window, then WINDOW_UPDATEs of 1 byte, then of 100 bytes: the server sends exactly
    what the window allows, and the bytes are the pattern."""
    with RawConn(server.port) as conn:
        conn.handshake([(SETTINGS_INITIAL_WINDOW_SIZE, 1)])
        sid = conn.request(f"/bytes?n={GiB}")

        def total():
            return sum(len(f.data) for f in conn.received(DATA, stream_id=sid))

        def take(expected):
            deadline = time.monotonic() + 3
            while total() < expected and time.monotonic() < deadline:
                conn.read_until(lambda f: f.type == DATA and f.stream_id == sid, deadline - time.monotonic())

        take(1)
        for _ in range(100):
            conn.send(window_update_frame(sid, 1) + window_update_frame(0, 1))
            take(total() + 1)
        for _ in range(50):
            conn.send(window_update_frame(sid, 100) + window_update_frame(0, 100))
            take(total() + 100)
        conn.read_frames(0.2)
        received = b"".join(f.data for f in conn.received(DATA, stream_id=sid))
        assert len(received) == 1 + 100 + 5000, f"{len(received)} bytes for a window of {1 + 100 + 5000}"
        assert received == pattern_bytes(0, len(received))
        conn.send(rst_frame(sid, CANCEL))
    assert_served(server)


# MARK: backpressure


@pytest.mark.time_limit(180)
def test_backpressure_paused_reader_then_every_byte_intact(server):
    """GET /bytes?n=$HTTP2_BACKPRESSURE_BYTES (1 GiB) with 16 MiB stream and 32 MiB connection
    windows; read about 1 MiB and stop reading for 5 s: the server's RSS stays flat (< +64 MiB),
    others are served; then read to the end, acknowledging data so the windows reopen: every
    byte is the pattern and the SHA-256 matches."""
    n = BACKPRESSURE_BYTES
    client = H2Client(server.port, local_settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 16 * MiB})
    try:
        client.conn.increment_flow_control_window(32 * MiB - 65535)
        client.flush()
        checker = PatternChecker()
        with RssSampler(server) as rss:
            sid = client.get(f"/bytes?n={n}")
            response = client.responses[sid]

            def drain():
                if response["body"]:
                    checker.feed(response["body"])
                    del response["body"][:]

            deadline = time.monotonic() + 10
            while checker.offset < MiB and time.monotonic() < deadline:
                client.pump(1.0)
                drain()
            assert response["status"] == 200, response
            assert int(response["headers"]["content-length"]) == n
            paused_at = checker.offset
            time.sleep(2.5)
            assert_served(server, within=1.0)
            time.sleep(2.5)
            paused_growth = rss.growth_mib
            start = time.monotonic()
            while not response["ended"] and not client.closed:
                client.pump(10.0)
                drain()
            drain()
            seconds = time.monotonic() - start
        print(f"backpressure: paused after {paused_at} bytes for 5 s (RSS +{paused_growth:.1f} MiB); "
              f"read {checker.offset} bytes in {seconds:.1f} s ({checker.offset / seconds / 1e6:.0f} MB/s); "
              f"peak RSS +{rss.growth_mib:.1f} MiB")
    finally:
        client.close()
    assert paused_growth < RSS_LIMIT_MIB, f"RSS grew {paused_growth:.1f} MiB while the reader paused"
    assert rss.growth_mib < RSS_LIMIT_MIB, f"RSS grew {rss.growth_mib:.1f} MiB during the download"
    assert response["reset"] is None, f"stream reset with {response['reset']}"
    assert response["ended"], "the response did not end"
    assert checker.offset == n, f"{checker.offset} bytes of {n}"
    assert checker.mismatch_at is None, f"first wrong byte at offset {checker.mismatch_at}"
    assert checker.sha.hexdigest() == expected_sha256(n)
    assert_served(server)


@pytest.fixture(scope="module")
def stall_server():
    """A server whose send-stall timeout is 1.5 s instead of 60 s."""
    from h2util import ServerProcess, find_server_binary

    process = ServerProcess(find_server_binary(), extra_args=("--send-stall-timeout-ms", "1500")).start()
    yield process
    process.stop()


@pytest.mark.time_limit(30)
def test_43_a_reader_that_never_opens_its_window_is_reset(stall_server):
    """Zero window, GET 1 GiB, never a WINDOW_UPDATE: the stream stays open while the timeout runs,
    then the server resets it with CANCEL (freeing the handler and the slot) and keeps serving; a
    stream that makes progress through a small window is not reset."""
    from h2util import RST_STREAM

    with RawConn(stall_server.port) as conn:
        conn.handshake([(SETTINGS_INITIAL_WINDOW_SIZE, 0)])
        sid = conn.request(f"/bytes?n={GiB}")
        assert conn.stream_reaction(sid, 3) == ("response", 200), conn.describe()
        conn.read_frames(0.5)
        assert sid not in conn.resets, "reset before the stall timeout"
        started = time.monotonic()
        conn.read_until(lambda f: f.type == RST_STREAM and f.stream_id == sid, 6.0)
        assert conn.resets.get(sid) == CANCEL, f"a stalled stream was not reset with CANCEL: {conn.describe()}"
        waited = time.monotonic() - started
        # A stream whose reader keeps opening its window (slowly) moves, so it is not reset.
        slow = conn.request("/bytes?n=4000")
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            conn.send(window_update_frame(slow, 100) + window_update_frame(0, 100))
            conn.read_frames(0.2)
        assert slow not in conn.resets, "a slow but moving stream was reset"
    print(f"stalled stream reset after a further {waited:.1f} s")
    assert_served(stall_server)
