"""Slowloris-lite (44): many connections that dribble their first bytes.

One set of slow connections serves every test here (the preface timeout is 10 s, so they are
opened once and watched for about 13 s in a background thread):
- 200 connections sending the HTTP/2 preface one byte a second;
- 20 connections that start an HTTP/1.1 request head and send one header byte a second.
"""

import socket
import threading
import time

import pytest

from h2util import CONFIG, PREFACE, assert_served

SLOW_PREFACES = 200
SLOW_HTTP1 = 20
TIMEOUT = CONFIG["prefaceTimeoutSeconds"]
WATCH_SECONDS = TIMEOUT + 3.5


class SlowConnection:
    def __init__(self, port, first: bytes, then: bytes):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.opened = time.monotonic()
        self.sock.setblocking(False)
        self.pending = then
        self.closed_after = None
        self._send(first)

    def _send(self, data):
        try:
            self.sock.send(data)
        except BlockingIOError:
            pass
        except OSError:
            self._closed()

    def _closed(self):
        if self.closed_after is None:
            self.closed_after = time.monotonic() - self.opened

    def dribble(self):
        if self.closed_after is None and self.pending:
            byte, self.pending = self.pending[:1], self.pending[1:]
            self._send(byte)

    def poll(self):
        if self.closed_after is not None:
            return
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    self._closed()
                    return
        except BlockingIOError:
            pass
        except OSError:
            self._closed()

    def close(self):
        self.sock.close()


class SlowSet:
    def __init__(self, port):
        self.prefaces = []
        self.http1 = []
        self.errors = []
        self.done = threading.Event()
        try:
            for _ in range(SLOW_PREFACES):
                self.prefaces.append(SlowConnection(port, PREFACE[:1], PREFACE[1:]))
            for _ in range(SLOW_HTTP1):
                self.http1.append(
                    SlowConnection(port, b"GET /hello HTTP/1.1\r\nHost: a\r\n", b"X-Slow: " + b"a" * 100)
                )
        except OSError as error:
            self.errors.append(repr(error))
        self.opened = time.monotonic()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    @property
    def all(self):
        return self.prefaces + self.http1

    def _watch(self):
        next_dribble = time.monotonic() + 1.0
        while time.monotonic() - self.opened < WATCH_SECONDS:
            for conn in self.all:
                conn.poll()
            if time.monotonic() >= next_dribble:
                for conn in self.all:
                    conn.dribble()
                next_dribble += 1.0
            time.sleep(0.05)
        self.done.set()

    def wait(self):
        self.done.wait(WATCH_SECONDS + 5)

    def close(self):
        self.done.wait(WATCH_SECONDS + 5)
        for conn in self.all:
            conn.close()


@pytest.fixture(scope="module")
def slow(server):
    slow_set = SlowSet(server.port)
    yield slow_set
    slow_set.close()


@pytest.mark.time_limit(30)
def test_44_fresh_client_served_while_slow_prefaces_hang(server, slow):
    """With 200 half-sent prefaces and 20 half-sent HTTP/1.1 heads open, a fresh well-behaved client
    connects and is served within 1 s, again and again while they hang."""
    assert not slow.errors, slow.errors
    worst = 0.0
    for _ in range(10):
        worst = max(worst, assert_served(server, within=1.0))
        time.sleep(0.2)
    still_open = sum(1 for c in slow.all if c.closed_after is None)
    print(f"fresh clients served in at most {worst * 1000:.1f} ms with {still_open} slow connections open")
    assert still_open >= SLOW_PREFACES, "the slow connections were closed before the preface timeout"


@pytest.mark.time_limit(40)
def test_44_slow_prefaces_are_closed_by_the_preface_timeout(server, slow):
    """Every slow-preface connection is closed about prefaceTimeout (10 s) after it opened,
    although it keeps sending a byte a second (the timeout counts from the accept)."""
    slow.wait()
    times = [c.closed_after for c in slow.prefaces]
    open_ones = sum(1 for t in times if t is None)
    closed = sorted(t for t in times if t is not None)
    if closed:
        print(f"slow prefaces closed after {closed[0]:.1f}–{closed[-1]:.1f} s; {open_ones} still open")
    assert open_ones == 0, f"{open_ones} of {len(times)} slow-preface connections still open after {WATCH_SECONDS} s"
    assert closed[0] >= TIMEOUT - 1.0, f"one was closed after {closed[0]:.1f} s, before the preface timeout"
    assert closed[-1] <= TIMEOUT + 3.0
    assert_served(server)


@pytest.mark.time_limit(40)
def test_44_slow_http1_request_heads_are_closed(server, slow):
    slow.wait()
    open_ones = sum(1 for c in slow.http1 if c.closed_after is None)
    print(f"slow HTTP/1.1 heads: {open_ones} of {len(slow.http1)} still open after {WATCH_SECONDS} s")
    assert open_ones == 0, (
        f"{open_ones} of {len(slow.http1)} slow HTTP/1.1 request heads still open after {WATCH_SECONDS} s "
        f"(preface timeout {TIMEOUT} s)"
    )
