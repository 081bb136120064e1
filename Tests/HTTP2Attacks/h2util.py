"""Helpers for the HTTP/2 attack and robustness suite (TESTPLAN §B, tests 36–50).

- `ServerProcess`: one `execbox-http2-testserver` (started with `--port 0`, which prints
  `listening on PORT`), its RSS from /proc/<pid>/status and the tail of its output.
- `frame()` and friends: raw HTTP/2 frames as bytes, so a test can send anything, valid or not.
- `RawConn`: a raw-socket HTTP/2 connection (preface, SETTINGS, an HPACK encoder) that writes
  whatever bytes it is given and parses what comes back with hyperframe, noting GOAWAY,
  RST_STREAM and the connection closing.
- `H2Client`: a well-behaved client on `h2.connection.H2Connection` (client side).
- `good_client_get()`: the "a well-behaved client is still served" check.
- `RssSampler`: the peak RSS of the server while an attack runs.
"""

from __future__ import annotations

import multiprocessing
import os
import pathlib
import queue
import select
import socket
import struct
import subprocess
import tempfile
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.settings
import hpack
from hyperframe.frame import Frame, GoAwayFrame, RstStreamFrame, SettingsFrame

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types (RFC 9113 §6).
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)

# Flags.
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

# Error codes (RFC 9113 §7).
NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
INTERNAL_ERROR = 0x2
FLOW_CONTROL_ERROR = 0x3
SETTINGS_TIMEOUT = 0x4
STREAM_CLOSED = 0x5
FRAME_SIZE_ERROR = 0x6
REFUSED_STREAM = 0x7
CANCEL = 0x8
COMPRESSION_ERROR = 0x9
CONNECT_ERROR = 0xA
ENHANCE_YOUR_CALM = 0xB
INADEQUATE_SECURITY = 0xC
HTTP_1_1_REQUIRED = 0xD

ERROR_NAMES = {
    0x0: "NO_ERROR", 0x1: "PROTOCOL_ERROR", 0x2: "INTERNAL_ERROR", 0x3: "FLOW_CONTROL_ERROR",
    0x4: "SETTINGS_TIMEOUT", 0x5: "STREAM_CLOSED", 0x6: "FRAME_SIZE_ERROR", 0x7: "REFUSED_STREAM",
    0x8: "CANCEL", 0x9: "COMPRESSION_ERROR", 0xA: "CONNECT_ERROR", 0xB: "ENHANCE_YOUR_CALM",
    0xC: "INADEQUATE_SECURITY", 0xD: "HTTP_1_1_REQUIRED",
}

# SETTINGS identifiers.
SETTINGS_HEADER_TABLE_SIZE = 0x1
SETTINGS_ENABLE_PUSH = 0x2
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
SETTINGS_MAX_FRAME_SIZE = 0x5
SETTINGS_MAX_HEADER_LIST_SIZE = 0x6

# The server's configuration (Sources/ExecboxHTTP2/HTTP2Configuration.swift and
# HTTP2ServerConfiguration in HTTP2Server.swift); the tests check their effects against these.
CONFIG = {
    "maxConcurrentStreams": 100,
    "initialWindowSize": 1 << 20,
    "maxFrameSize": 1 << 14,
    "maxHeaderListSize": 64 << 10,
    "maxContinuations": 8,
    "streamResetBurst": 1000,
    "streamResetRatePerSecond": 33,
    "glitchBurst": 200,
    "glitchRatePerSecond": 20,
    "maxOutboundAcks": 1000,
    "maxSettingsEntries": 32,
    "prefaceTimeoutSeconds": 10,
    "idleTimeoutSeconds": 300,
    "maxConnectionsPerIP": 64,  # loopback exempt by default, so not testable from here
}

MiB = 1 << 20


def error_name(code):
    return ERROR_NAMES.get(code, hex(code) if code is not None else "None")


# MARK: the server process


def find_server_binary() -> str:
    """$EXECBOX_HTTP2_TESTSERVER, else this repository's debug build."""
    override = os.environ.get("EXECBOX_HTTP2_TESTSERVER")
    if override:
        return override
    built = pathlib.Path(__file__).resolve().parents[2] / ".build/debug/execbox-http2-testserver"
    if not (built.is_file() and os.access(built, os.X_OK)):
        raise RuntimeError(
            "execbox-http2-testserver not found: set EXECBOX_HTTP2_TESTSERVER or run "
            "`swift build --product execbox-http2-testserver`"
        )
    return str(built)


class ServerProcess:
    def __init__(self, binary: str, extra_args: tuple[str, ...] = ()):
        self.binary = binary
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.log = None
        self.starts = 0

    def start(self, timeout=20.0):
        self.log = tempfile.NamedTemporaryFile(prefix="execbox-h2-server-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [self.binary, "--port", "0", *self.extra_args],
            stdout=subprocess.PIPE,
            stderr=self.log,
            stdin=subprocess.DEVNULL,
        )
        self.starts += 1
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                if line.startswith(b"listening on "):
                    self.port = int(line.split()[-1])
                    break
                if not line and self.proc.poll() is not None:
                    break
        if self.port is None:
            self.stop()
            raise RuntimeError(f"the server did not start: {line!r}; log: {self.log_tail()}")
        # Drain anything else it prints, so a full pipe never blocks it.
        threading.Thread(target=self._drain_stdout, daemon=True).start()
        return self

    def _drain_stdout(self):
        try:
            for _ in self.proc.stdout:
                pass
        except (OSError, ValueError):
            pass

    @property
    def pid(self):
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def returncode(self):
        return self.proc.poll() if self.proc else None

    def rss_kib(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def thread_count(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
        return 0

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def log_tail(self, n=4000) -> str:
        if not self.log:
            return ""
        try:
            data = pathlib.Path(self.log.name).read_bytes()
        except OSError:
            return ""
        return data[-n:].decode("utf-8", "replace")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.log:
            self.log.close()
            try:
                os.unlink(self.log.name)
            except OSError:
                pass


class RssSampler:
    """Samples the server's VmRSS every `interval` seconds in a thread: `peak_kib`, `growth_mib`."""

    def __init__(self, server: ServerProcess, interval=0.05):
        self.server = server
        self.interval = interval
        self.baseline_kib = server.rss_kib()
        self.peak_kib = self.baseline_kib
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak_kib = max(self.peak_kib, self.server.rss_kib())
            except (OSError, RuntimeError):
                return
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(2)
        try:
            self.peak_kib = max(self.peak_kib, self.server.rss_kib())
        except (OSError, RuntimeError):
            pass
        return False

    @property
    def growth_mib(self) -> float:
        return (self.peak_kib - self.baseline_kib) / 1024


# MARK: raw frames


def frame(ftype: int, flags: int, stream_id: int, payload: bytes = b"", length: int | None = None) -> bytes:
    """One frame, byte for byte as given: any type, flags, stream id (R bit included) or length."""
    n = len(payload) if length is None else length
    return struct.pack(">I", n)[1:] + bytes([ftype, flags]) + struct.pack(">I", stream_id & 0xFFFFFFFF) + payload


def settings_frame(entries=(), ack=False) -> bytes:
    payload = b"".join(struct.pack(">HI", k, v) for k, v in entries)
    return frame(SETTINGS, ACK if ack else 0, 0, payload)


def ping_frame(data=b"\0" * 8, ack=False) -> bytes:
    return frame(PING, ACK if ack else 0, 0, data)


def rst_frame(stream_id: int, code: int = CANCEL) -> bytes:
    return frame(RST_STREAM, 0, stream_id, struct.pack(">I", code))


def window_update_frame(stream_id: int, increment: int) -> bytes:
    return frame(WINDOW_UPDATE, 0, stream_id, struct.pack(">I", increment & 0xFFFFFFFF))


def data_frame(stream_id: int, payload: bytes = b"", end_stream=False) -> bytes:
    return frame(DATA, END_STREAM if end_stream else 0, stream_id, payload)


def priority_frame(stream_id: int, depends_on: int = 0, weight: int = 16, exclusive=False) -> bytes:
    dep = (depends_on & 0x7FFFFFFF) | (0x80000000 if exclusive else 0)
    return frame(PRIORITY, 0, stream_id, struct.pack(">IB", dep, weight - 1))


def headers_frame(stream_id: int, block: bytes, end_stream=True, end_headers=True) -> bytes:
    flags = (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0)
    return frame(HEADERS, flags, stream_id, block)


def continuation_frame(stream_id: int, block: bytes = b"", end_headers=False) -> bytes:
    return frame(CONTINUATION, END_HEADERS if end_headers else 0, stream_id, block)


def goaway_frame(last_stream_id: int = 0, code: int = NO_ERROR) -> bytes:
    return frame(GOAWAY, 0, 0, struct.pack(">II", last_stream_id, code))


def request_headers(path="/hello", method="GET", authority="127.0.0.1", scheme="http", extra=()):
    headers = [(":method", method), (":scheme", scheme), (":path", path)]
    if authority is not None:
        headers.append((":authority", authority))
    headers.extend(extra or ())
    return headers


# MARK: a raw connection


class RawConn:
    """A raw HTTP/2 client connection: sends bytes as given, reads frames with hyperframe.

    `frames` logs every frame received; `goaway` is the first GOAWAY (or None); `resets` maps a
    stream to the code of the first RST_STREAM on it; `closed` turns true once the server closed
    or reset the TCP connection (`eof`: seen by recv, `reset`: an RST, `send_failed`: a write
    failed). SETTINGS from the server are acknowledged as they are parsed unless `auto_ack` is
    turned off."""

    def __init__(self, port: int, rcvbuf: int | None = None, sndbuf: int | None = None, timeout=10.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if sndbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.encoder = hpack.Encoder()
        self.buffer = bytearray()
        self.frames = []
        self.goaway = None
        self.resets = {}  # stream id -> error code of the first RST_STREAM
        self.server_settings = None
        self.eof = False  # recv saw the end (FIN or RST)
        self.reset = False
        self.send_failed = False
        self.next_stream_id = 1
        self.bytes_received = 0
        self.auto_ack = True  # acknowledge the server's SETTINGS as they arrive
        # Every header block the server sends is decoded in order (HPACK state is per connection):
        # a HEADERS frame gets `decoded`, a list of (name, value) strings, or None if undecodable.
        self.decoder = hpack.Decoder()
        self._open_block = None  # (HEADERS frame, bytearray) while CONTINUATIONs are due

    # sending

    def handshake(self, settings=(), wait=True, timeout=5.0):
        """Preface and our SETTINGS; with `wait`, reads until the server's SETTINGS arrive."""
        self.send(PREFACE + settings_frame(settings))
        if wait:
            self.read_until(lambda f: isinstance(f, SettingsFrame) and "ACK" not in f.flags, timeout)
            assert self.server_settings is not None, f"no SETTINGS from the server: {self.describe()}"
        return self

    def send(self, data: bytes) -> bool:
        """Sends everything; False (and `closed`) if the server has gone."""
        if self.send_failed:
            return False
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.send_failed = True
            return False

    def send_nonblocking(self, data: bytes, timeout: float) -> int:
        """Writes as much of `data` as the socket takes within `timeout`; returns bytes written."""
        view = memoryview(data)
        sent = 0
        deadline = time.monotonic() + timeout
        while sent < len(data):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            _, writable, _ = select.select([], [self.sock], [], min(remaining, 0.2))
            if not writable:
                continue
            try:
                self.sock.setblocking(False)
                n = self.sock.send(view[sent:])
            except BlockingIOError:
                n = 0
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                self.send_failed = True
                break
            finally:
                self.sock.settimeout(self.timeout)
            sent += n
        return sent

    def new_stream_id(self) -> int:
        sid = self.next_stream_id
        self.next_stream_id += 2
        return sid

    def encode(self, headers, huffman=True) -> bytes:
        return self.encoder.encode(headers, huffman=huffman)

    def request(self, path="/hello", method="GET", end_stream=True, extra=(), stream_id=None, authority="127.0.0.1"):
        sid = stream_id if stream_id is not None else self.new_stream_id()
        block = self.encode(request_headers(path, method, authority=authority, extra=extra))
        self.send_header_block(sid, block, end_stream=end_stream)
        return sid

    def send_header_block(self, stream_id: int, block: bytes, end_stream=True, frame_size=16384) -> bool:
        """HEADERS, plus CONTINUATION frames when `block` is larger than one frame."""
        chunks = [block[i : i + frame_size] for i in range(0, len(block), frame_size)] or [b""]
        out = headers_frame(stream_id, chunks[0], end_stream=end_stream, end_headers=len(chunks) == 1)
        for i, chunk in enumerate(chunks[1:], start=2):
            out += continuation_frame(stream_id, chunk, end_headers=i == len(chunks))
        return self.send(out)

    def wait_stream_end(self, stream_id: int, timeout: float) -> bool:
        """Reads until the server ends `stream_id` (END_STREAM or RST_STREAM); True if it did."""

        def ended(f):
            return f.stream_id == stream_id and ("END_STREAM" in f.flags or isinstance(f, RstStreamFrame))
        if any(ended(f) for f in self.frames):
            return True
        return self.read_until(ended, timeout) is not None

    def received(self, ftype=None, stream_id=None, flag=None):
        """Frames received so far, by type, stream and flag name (e.g. "END_STREAM")."""
        return [
            f for f in self.frames
            if (ftype is None or f.type == ftype)
            and (stream_id is None or f.stream_id == stream_id)
            and (flag is None or flag in f.flags)
        ]

    # receiving

    def _decode_block(self, headers_frame_, block):
        try:
            headers_frame_.decoded = [
                (n.decode("latin-1") if isinstance(n, bytes) else n, v.decode("latin-1") if isinstance(v, bytes) else v)
                for n, v in self.decoder.decode(bytes(block), raw=True)
            ]
        except Exception:  # noqa: BLE001 - a block we cannot decode is reported as None
            headers_frame_.decoded = None

    def _note(self, f):
        self.frames.append(f)
        if f.type == HEADERS:
            f.decoded = None
            if "END_HEADERS" in f.flags:
                self._decode_block(f, f.data)
            else:
                self._open_block = (f, bytearray(f.data))
        elif f.type == CONTINUATION and self._open_block is not None:
            self._open_block[1].extend(f.data)
            if "END_HEADERS" in f.flags:
                self._decode_block(*self._open_block)
                self._open_block = None
        if isinstance(f, GoAwayFrame) and self.goaway is None:
            self.goaway = f
        elif isinstance(f, RstStreamFrame):
            self.resets.setdefault(f.stream_id, f.error_code)
        elif isinstance(f, SettingsFrame) and "ACK" not in f.flags:
            if self.server_settings is None:
                self.server_settings = dict(f.settings)
            if self.auto_ack and not self.send_failed:
                self.send(settings_frame(ack=True))

    def _parse(self):
        out = []
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[0:3], "big")
            if len(self.buffer) < 9 + length:
                break
            header = memoryview(bytes(self.buffer[:9]))
            body = memoryview(bytes(self.buffer[9 : 9 + length]))
            del self.buffer[: 9 + length]
            f, _ = Frame.parse_frame_header(header)
            f.parse_body(body)
            self._note(f)
            out.append(f)
        return out

    def _recv(self, timeout: float) -> bool:
        """One recv within `timeout`; False on timeout. Marks `closed` at EOF or reset."""
        if self.eof:
            return False
        ready, _, _ = select.select([self.sock], [], [], max(timeout, 0))
        if not ready:
            return False
        try:
            self.sock.setblocking(False)
            chunk = self.sock.recv(1 << 20)
        except BlockingIOError:
            return False
        except (ConnectionResetError, ConnectionAbortedError):
            self.eof = True
            self.reset = True
            return False
        finally:
            try:
                self.sock.settimeout(self.timeout)
            except OSError:
                pass
        if not chunk:
            self.eof = True
            return False
        self.bytes_received += len(chunk)
        self.buffer += chunk
        return True

    @property
    def closed(self) -> bool:
        """The server closed or reset the connection (seen by recv or by a failed send)."""
        return self.eof or self.send_failed

    def read_frames(self, timeout: float):
        """Frames that arrive within `timeout` (returns early when the connection closes)."""
        deadline = time.monotonic() + timeout
        out = []
        while not self.eof:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if self._recv(remaining):
                out.extend(self._parse())
        out.extend(self._parse())
        return out

    def read_until(self, predicate, timeout: float):
        """The first received frame matching `predicate`, or None on timeout or close."""
        deadline = time.monotonic() + timeout
        while True:
            for f in self._parse():
                if predicate(f):
                    return f
            if self.eof:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._recv(remaining)

    def wait_closed(self, timeout: float) -> bool:
        """Reads (and logs) until the server closes the connection; True if it did in time."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if self._recv(remaining):
                self._parse()
        self._parse()
        return self.eof

    def wait_goaway_or_close(self, timeout: float):
        """Reads until a GOAWAY or the close; returns the GOAWAY frame (or None)."""
        self.read_until(lambda f: isinstance(f, GoAwayFrame), timeout)
        return self.goaway

    def stream_reaction(self, stream_id: int, timeout: float):
        """What the server did with one stream, first thing first: ('rst', code),
        ('response', status), ('goaway', code), ('closed', None) or ('timeout', None).
        Frames already received count (a response read earlier is still the reaction)."""

        def classify(f):
            if isinstance(f, GoAwayFrame):
                return ("goaway", f.error_code)
            if f.stream_id != stream_id:
                return None
            if isinstance(f, RstStreamFrame):
                return ("rst", f.error_code)
            if f.type == HEADERS:
                if "END_HEADERS" not in f.flags:
                    self.read_until(lambda g: g.type == CONTINUATION and "END_HEADERS" in g.flags, timeout)
                fields = dict(getattr(f, "decoded", None) or ())
                return ("response", int(fields[":status"]) if ":status" in fields else None)
            return None

        for f in self.frames:
            if f.stream_id == stream_id and classify(f) is not None:
                return classify(f)
        if self.goaway is not None:
            return ("goaway", self.goaway.error_code)
        f = self.read_until(lambda f: classify(f) is not None, timeout)
        if f is not None:
            return classify(f)
        if self.closed:
            return ("closed", None)
        return ("timeout", None)

    def describe(self) -> str:
        kinds = {}
        for f in self.frames:
            kinds[type(f).__name__] = kinds.get(type(f).__name__, 0) + 1
        goaway = (
            f"GOAWAY(last={self.goaway.last_stream_id}, {error_name(self.goaway.error_code)}, "
            f"{bytes(self.goaway.additional_data)!r})"
            if self.goaway
            else "no GOAWAY"
        )
        return (f"frames={kinds}, {goaway}, eof={self.eof}, reset={self.reset}, "
                f"send_failed={self.send_failed}")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# MARK: a well-behaved h2 client


class H2Client:
    """A client on h2's state machine, for the requests a well-behaved peer makes."""

    def __init__(self, port: int, timeout=10.0, local_settings=None, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=config)
        if local_settings:
            self.conn.local_settings = h2.settings.Settings(client=True, initial_values=local_settings)
        self.conn.initiate_connection()
        self.flush()
        self.responses = {}  # stream id -> dict(status, headers, body bytearray, trailers, ended, reset)
        self.goaway = None
        self.closed = False
        self.remote_settings_seen = False

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def get(self, path="/hello", end_stream=True, method="GET", extra=()):
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, request_headers(path, method, extra=extra), end_stream=end_stream)
        self.responses[sid] = {"status": None, "headers": None, "body": bytearray(), "trailers": None,
                               "ended": False, "reset": None}
        self.flush()
        return sid

    def handle(self, events, ack=True):
        for event in events:
            if isinstance(event, h2.events.ResponseReceived):
                r = self.responses.setdefault(event.stream_id, {"body": bytearray(), "ended": False, "reset": None, "trailers": None})
                r["headers"] = dict(event.headers)
                r["status"] = int(r["headers"][":status"])
            elif isinstance(event, h2.events.DataReceived):
                r = self.responses[event.stream_id]
                r["body"] += event.data
                if ack and event.flow_controlled_length:
                    self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.TrailersReceived):
                self.responses[event.stream_id]["trailers"] = dict(event.headers)
            elif isinstance(event, h2.events.StreamEnded):
                self.responses[event.stream_id]["ended"] = True
            elif isinstance(event, h2.events.StreamReset):
                if event.stream_id in self.responses:
                    self.responses[event.stream_id]["reset"] = event.error_code
                    self.responses[event.stream_id]["ended"] = True
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.goaway = event
            elif isinstance(event, h2.events.RemoteSettingsChanged):
                self.remote_settings_seen = True

    def pump(self, timeout: float, ack=True) -> bool:
        """Receives once (within `timeout`) and handles the events; False on timeout or close."""
        ready, _, _ = select.select([self.sock], [], [], max(timeout, 0))
        if not ready:
            return False
        try:
            data = self.sock.recv(1 << 20)
        except (ConnectionResetError, ConnectionAbortedError):
            self.closed = True
            return False
        if not data:
            self.closed = True
            return False
        self.handle(self.conn.receive_data(data), ack=ack)
        self.flush()
        return True

    def wait(self, predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closed:
                return predicate()
            self.pump(remaining)
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def good_client_get(port: int, path="/hello", timeout=3.0):
    """A fresh well-behaved connection doing GET `path`: (status, body, seconds)."""
    start = time.monotonic()
    client = H2Client(port, timeout=timeout)
    try:
        sid = client.get(path)
        client.wait(lambda: client.responses[sid]["ended"], timeout)
        r = client.responses[sid]
        return r["status"], bytes(r["body"]), time.monotonic() - start
    finally:
        client.close()


def assert_served(server: ServerProcess, timeout=3.0, within=None):
    """The server process is alive and a fresh well-behaved client gets GET /hello → 200 "hello\\n"
    (within `within` seconds when given). Returns the seconds it took."""
    assert server.alive(), f"the server died (exit {server.returncode()}); log: {server.log_tail()}"
    try:
        status, body, seconds = good_client_get(server.port, timeout=timeout)
    except OSError as error:
        raise AssertionError(f"a well-behaved client could not be served: {error!r}") from error
    assert (status, body) == (200, b"hello\n"), f"well-behaved client got {status} {body!r}"
    if within is not None:
        assert seconds < within, f"well-behaved client took {seconds:.2f} s (limit {within} s)"
    return seconds


def _latency_probe_loop(port, interval, timeout, stop, results):
    latencies, failures = [], []
    client = None
    while not stop.is_set():
        try:
            if client is None or client.closed or client.goaway is not None:
                if client:
                    client.close()
                client = H2Client(port, timeout=timeout)
            start = time.monotonic()
            sid = client.get("/hello")
            client.wait(lambda: client.responses[sid]["ended"], timeout)
            r = client.responses.pop(sid)
            if r["status"] == 200 and bytes(r["body"]) == b"hello\n":
                latencies.append(time.monotonic() - start)
            else:
                failures.append(f"status {r['status']} reset {r['reset']}")
        except Exception as error:  # noqa: BLE001 - reported to the test
            failures.append(repr(error))
            client = None
        stop.wait(interval)
    if client:
        client.close()
    results.put((latencies, failures))


class LatencyProbe:
    """A well-behaved client in its own process (so the attacking Python code does not slow it
    down): sequential GET /hello on one connection; `latencies`, `failures` and `p99()` once
    the `with` block has ended."""

    def __init__(self, port: int, interval=0.005, timeout=5.0):
        self.port = port
        self.interval = interval
        self.timeout = timeout
        self.latencies = []
        self.failures = []
        context = multiprocessing.get_context("fork")
        self._stop = context.Event()
        self._results = context.Queue()
        self._process = context.Process(
            target=_latency_probe_loop,
            args=(port, interval, timeout, self._stop, self._results),
            daemon=True,
        )

    def __enter__(self):
        self._process.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        try:
            self.latencies, self.failures = self._results.get(timeout=self.timeout + 5)
        except queue.Empty:
            self.failures = ["the probe process did not report"]
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
        return False

    def p99(self) -> float:
        if not self.latencies:
            return float("inf")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def pattern_bytes(offset: int, length: int) -> bytes:
    """`length` bytes of /bytes' pattern (byte i is i % 251) starting at byte `offset`."""
    period = bytes(range(251))
    start = offset % 251
    reps = (start + length) // 251 + 1
    return (period * reps)[start : start + length]
