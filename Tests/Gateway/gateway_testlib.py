"""Helpers of the REST /v1 gateway tests (test_rest_*.py, test_websocket*.py): the merged error body
check, session helpers, the WebSocket frame codec of CONTRACT.md §4.2 (+ the 0x07 resize extension),
a collector that checks the frame-level rules of every server message (binary only, exact lengths,
output payloads <= 65536 bytes, Error text <= 1024 bytes of UTF-8, exactly one Exit and nothing after
it, Close 1000), and a raw RFC 6455 client for what `websockets` hides (opcodes, masking, RSV bits,
declared lengths, fragmentation).

Spec: docs/gateway.md; legacy: the execbox-cloud contract it keeps (docs/api-legacy-mapping.md)."""
import base64
import contextlib
import datetime
import hashlib
import json
import os
import re
import socket
import struct
import time
import urllib.parse

import websockets.exceptions
from websockets.sync.client import connect as ws_connect

SOAK = int(os.environ.get("EXECBOX_SOAK", "50"))
MiB = 1 << 20

# Reason phrases: RFC 9110 names, with the older (Go net/http, huma) names where they differ.
REASONS = {
    400: {"Bad Request"}, 401: {"Unauthorized"}, 403: {"Forbidden"}, 404: {"Not Found"},
    405: {"Method Not Allowed"}, 409: {"Conflict"},
    413: {"Content Too Large", "Payload Too Large", "Request Entity Too Large"},
    415: {"Unsupported Media Type"}, 422: {"Unprocessable Content", "Unprocessable Entity"},
    429: {"Too Many Requests"}, 500: {"Internal Server Error"}, 501: {"Not Implemented"},
    503: {"Service Unavailable"}, 504: {"Gateway Timeout"},
}
CODES = {
    "BAD_REQUEST", "VALIDATION_FAILED", "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "METHOD_NOT_ALLOWED",
    "CONFLICT", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "QUOTA_EXCEEDED", "RATE_LIMIT_EXCEEDED",
    "INTERNAL", "NOT_IMPLEMENTED", "UNAVAILABLE",
}
ERROR_FIELDS = {"title", "status", "detail", "errors", "error", "code", "request_id"}
# Text that must never reach a client: host paths of the server, Swift/NIO/gRPC internals, SQL.
INTERNAL = re.compile(
    r"/run/|/work/|/root/|/var/lib/|/sys/fs/|/proc/\d|\.swift\b|Sources/|RPCError|Swift\.|NIOCore|"
    r"Optional\(|SQLITE_|sqlite3|PQ[a-z]|Fatal error|Backtrace|grpc-status|execbox-error-bin|"
    r"DecodingError|Thread \d|0x[0-9a-f]{8,}", re.IGNORECASE)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
RFC3339_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def assert_timestamp(value, what="timestamp"):
    """RFC 3339, UTC, second precision (`2024-01-15T10:30:00Z`), and close to now."""
    assert isinstance(value, str) and RFC3339_SECONDS.match(value), (what, value)
    moment = datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    age = (datetime.datetime.now(datetime.timezone.utc) - moment).total_seconds()
    return moment, age


def assert_no_internal_text(text, what="body"):
    found = INTERNAL.search(text)
    assert not found, f"{what} carries internal text {found.group(0)!r}: {text[:500]!r}"


def assert_security_headers(response, cache=True):
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name), dict(response.headers))
    if cache:
        assert response.headers.get("Cache-Control") == "no-store", dict(response.headers)
    assert response.headers.get("X-Request-Id"), dict(response.headers)
    cors = [h for h in response.headers if h.lower().startswith("access-control-")]
    assert not cors, f"CORS headers without --cors-origins: {cors}"


def assert_error(response, status, code=None, detail=None, contains=None, location=None):
    """The merged error body of the spec on `response`: title/status/detail/error/code/request_id
    (+ errors[]), problem+json (application/json for 401), X-Request-Id = request_id, security
    headers, no `$schema`, no internal text. Returns the parsed body."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.path_url}: expected {status}, got "
        f"{response.status_code} {response.headers.get('Content-Type')} {response.text[:600]!r}")
    content_type = response.headers.get("Content-Type", "")
    expected_type = "application/json" if status == 401 else "application/problem+json"
    assert content_type.split(";")[0].strip() == expected_type, (status, content_type, response.text[:300])
    body = response.json()
    assert isinstance(body, dict), body
    assert set(body) <= ERROR_FIELDS, f"unexpected error fields {set(body) - ERROR_FIELDS}: {body}"
    assert body.get("status") == status, body
    assert body.get("title") in REASONS.get(status, {body.get("title")}), body
    assert isinstance(body.get("detail"), str) and body["detail"], body
    assert body.get("error") == body["detail"], body
    assert body.get("code") in CODES, body
    if code is not None:
        assert body["code"] == code, (code, body)
    assert body.get("request_id") and body["request_id"] == response.headers.get("X-Request-Id"), (
        body, response.headers.get("X-Request-Id"))
    if detail is not None:
        assert body["detail"] == detail, (detail, body)
    if contains is not None:
        assert contains in body["detail"], (contains, body)
    if "errors" in body:
        assert isinstance(body["errors"], list) and body["errors"], body
        for item in body["errors"]:
            assert set(item) <= {"message", "location", "value"}, item
            assert isinstance(item.get("message"), str) and isinstance(item.get("location"), str), item
    if location is not None:
        locations = [item["location"] for item in body.get("errors", [])]
        assert location in locations, (location, body)
    assert_no_internal_text(response.text, f"{status} body")
    assert_security_headers(response, cache=False)
    return body


def retry_rate_limited(call, attempts=20):
    """`call()` again after Retry-After while it answers 429 RATE_LIMIT_EXCEEDED (what a polite client
    does); tests of the 429 itself call directly."""
    for _ in range(attempts):
        response = call()
        if response.status_code != 429 or "RATE_LIMIT" not in response.text:
            return response
        time.sleep(float(response.headers.get("Retry-After", "1")))
    return response


# MARK: sessions


def create_session(gateway, key, expect=201, headers=None, **body):
    """POST /v1/sessions with `body` (image "default" unless given); returns the parsed 201 body."""
    body.setdefault("image", "default")
    response = retry_rate_limited(
        lambda: gateway.request("POST", "/v1/sessions", key=key, json=body, headers=headers))
    assert response.status_code == expect, (body, response.status_code, response.text[:600])
    return response.json()


def get_session(gateway, key, session_id):
    response = gateway.request("GET", f"/v1/sessions/{session_id}", key=key)
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()


def wait_status(gateway, key, session_id, statuses, timeout=30):
    """Polls GET /v1/sessions/{id} until its status is in `statuses`; returns the session."""
    deadline = time.monotonic() + timeout
    while True:
        session = get_session(gateway, key, session_id)
        if session["status"] in statuses or time.monotonic() > deadline:
            assert session["status"] in statuses, (statuses, session)
            return session
        time.sleep(0.1)


def kill_session(gateway, key, session_id):
    with contextlib.suppress(Exception):
        gateway.request("DELETE", f"/v1/sessions/{session_id}", key=key, timeout=30)


# MARK: WebSocket frames (CONTRACT.md §4.2)

STDIN, STDOUT, STDERR, EXIT, ERROR, STDIN_CLOSE_TYPE, RESIZE = 1, 2, 3, 4, 5, 6, 7
STDIN_CLOSE = b"\x06"
MAX_OUTPUT_PAYLOAD = 65536
MAX_ERROR_TEXT = 1024
MAX_MESSAGE = 16 * MiB + 5


def frame(kind, payload=b""):
    return bytes([kind]) + struct.pack(">I", len(payload)) + payload


def stdin(data):
    return frame(STDIN, data if isinstance(data, bytes) else data.encode())


def resize(cols, rows):
    return b"\x07" + struct.pack(">HH", cols, rows)


def exit_frame(code):
    return b"\x04" + struct.pack(">I", code & 0xFFFFFFFF)


class Output:
    """What one WebSocket connection delivered: stdout/stderr bytes, exit codes, error texts, the
    sequence of frame types, the close code/reason, and every frame-level rule violation."""

    def __init__(self):
        self.stdout, self.stderr = bytearray(), bytearray()
        self.exits, self.errors, self.kinds, self.problems = [], [], [], []
        self.max_payload = 0
        self.close_code = self.close_reason = None

    @property
    def exit_code(self):
        assert len(self.exits) == 1, f"expected exactly one Exit frame: {self}"
        return self.exits[0]

    def add(self, message):
        if not isinstance(message, bytes):
            self.problems.append(f"text message from the server: {message[:60]!r}")
            message = message.encode()
        if not message:
            self.problems.append("empty message from the server")
            return
        kind = message[0]
        if self.exits:
            self.problems.append(f"frame type {kind} after the Exit frame")
        self.kinds.append(kind)
        if kind in (STDOUT, STDERR, ERROR):
            if len(message) < 5:
                self.problems.append(f"type {kind} frame of {len(message)} bytes")
                return
            (length,) = struct.unpack(">I", message[1:5])
            payload = message[5:]
            if length != len(payload):
                self.problems.append(f"type {kind}: declared {length}, carried {len(payload)}")
            if kind == ERROR:
                if len(payload) > MAX_ERROR_TEXT:
                    self.problems.append(f"Error frame of {len(payload)} bytes")
                try:
                    self.errors.append(payload.decode("utf-8"))
                except UnicodeDecodeError:
                    self.problems.append(f"Error frame not UTF-8: {payload[:80]!r}")
                    self.errors.append(payload.decode("utf-8", "replace"))
                return
            if len(payload) > MAX_OUTPUT_PAYLOAD:
                self.problems.append(f"output frame of {len(payload)} bytes (> {MAX_OUTPUT_PAYLOAD})")
            self.max_payload = max(self.max_payload, len(payload))
            (self.stdout if kind == STDOUT else self.stderr).extend(payload)
        elif kind == EXIT:
            if len(message) != 5:
                self.problems.append(f"Exit frame of {len(message)} bytes")
            (code,) = struct.unpack(">i", message[1:5].ljust(4, b"\0"))
            self.exits.append(code)
        else:
            self.problems.append(f"unknown frame type {kind} from the server: {message[:20].hex()}")

    def check(self, close=1000, exits=1):
        """No frame-level problem, `exits` Exit frames, and the server's close code."""
        assert not self.problems, self.problems
        assert len(self.exits) == exits, f"{len(self.exits)} Exit frames, expected {exits}: {self}"
        if close is not None:
            assert self.close_code == close, f"close code {self.close_code}, expected {close}: {self}"
        return self

    def __repr__(self):
        return (f"Output(stdout={bytes(self.stdout[-300:])!r}, stderr={bytes(self.stderr[-300:])!r}, "
                f"exits={self.exits}, errors={self.errors}, close={self.close_code} {self.close_reason!r}, "
                f"problems={self.problems[:5]})")


def ws_url(gateway, session_id, what="exec", query=None):
    base = gateway.url.replace("http://", "ws://").replace("https://", "wss://")
    url = f"{base}/v1/sessions/{session_id}/{what}"
    if query:
        url += "?" + urllib.parse.urlencode(query, doseq=True)
    return url


def exec_query(cmd, workdir=None, env=None, tty=False, cols=None, rows=None):
    query = [("cmd", c) for c in cmd]
    if workdir is not None:
        query.append(("workdir", workdir))
    for name, value in (env or {}).items():
        query.append(("env", f"{name}={value}"))
    if tty:
        query.append(("tty", "1"))
    if cols is not None:
        query.append(("cols", str(cols)))
    if rows is not None:
        query.append(("rows", str(rows)))
    return query


def open_ws(gateway, session_id, key, what="exec", query=None, subprotocols=None, headers=None, auth=True,
            open_timeout=30):
    """A `websockets` sync client on attach/exec: Bearer auth unless `auth` is False, no
    compression, no client pings (tests send their own), no size cap on received messages."""
    all_headers = dict(headers or {})
    if auth and key is not None:
        all_headers["Authorization"] = f"Bearer {key if isinstance(key, str) else key.key}"
    return ws_connect(
        ws_url(gateway, session_id, what, query), additional_headers=all_headers, subprotocols=subprotocols,
        compression=None, proxy=None, open_timeout=open_timeout, ping_interval=None, close_timeout=10,
        max_size=None)


def collect(ws, output=None, timeout=60, stop_when=None):
    """Reads messages into `output` until the server closes (or `stop_when(output)` is true);
    fails if neither happens within `timeout` seconds."""
    output = output or Output()
    deadline = time.monotonic() + timeout
    while True:
        if stop_when is not None and stop_when(output):
            return output
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no close from the server within {timeout} s: {output}")
        try:
            message = ws.recv(timeout=remaining)
        except TimeoutError:
            continue
        except websockets.exceptions.ConnectionClosed:
            output.close_code, output.close_reason = ws.close_code, ws.close_reason
            return output
        output.add(message)


def run_exec(gateway, session_id, key, cmd, send=(), close_stdin=True, timeout=60, **options):
    """One exec over the WebSocket: sends `send` (frames as bytes), StdinClose if asked, collects
    everything until the server closes."""
    with open_ws(gateway, session_id, key, query=exec_query(cmd, **options)) as ws:
        try:
            for message in send:
                ws.send(message)
            if close_stdin:
                ws.send(STDIN_CLOSE)
        except websockets.exceptions.ConnectionClosedOK:
            # The process ended before it needed the rest of its stdin, and the server closed
            # normally after its output and exit: those are still queued, and read below.
            pass
        return collect(ws, timeout=timeout)


def handshake_refusal(gateway, session_id, key, what="exec", query=None, **kwargs):
    """Opens a WebSocket expected to be refused before the upgrade; returns the HTTP response
    (`status_code`, `headers`, `body`) of websockets' InvalidStatus."""
    try:
        ws = open_ws(gateway, session_id, key, what=what, query=query, **kwargs)
    except websockets.exceptions.InvalidStatus as refused:
        return refused.response
    ws.close()
    raise AssertionError(f"the {what} WebSocket of {session_id} was upgraded; expected a refusal")


def assert_handshake_error(response, status, code=None):
    """A pre-upgrade refusal: `status` and the JSON error body (problem+json, 401 application/json)."""
    assert response.status_code == status, (status, response.status_code, response.body[:400])
    content_type = response.headers.get("Content-Type", "")
    expected = "application/json" if status == 401 else "application/problem+json"
    assert content_type.split(";")[0].strip() == expected, (status, content_type, response.body[:300])
    body = json.loads(response.body)
    assert body["status"] == status and body["error"] == body["detail"] and body["code"] in CODES, body
    if code is not None:
        assert body["code"] == code, body
    assert body.get("request_id") and body["request_id"] == response.headers.get("X-Request-Id"), body
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))
    assert_no_internal_text(response.body.decode("utf-8", "replace"), "handshake refusal")
    return body


# MARK: a raw RFC 6455 client


class RawWebSocket:
    """An RFC 6455 client on a plain socket: the handshake by hand, then frames with any opcode,
    FIN/RSV bits, mask or declared length."""

    def __init__(self, gateway, path, headers=None, timeout=30):
        host, port = gateway.address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {gateway.address}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {self.key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1]) if status_line else 0
        self.headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()

    @property
    def upgraded(self):
        return self.status == 101

    def accept_ok(self):
        expected = base64.b64encode(
            hashlib.sha1((self.key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        return self.headers.get("sec-websocket-accept") == expected

    def send_frame(self, opcode, payload=b"", fin=True, mask=True, rsv=0, declared=None):
        first = (0x80 if fin else 0) | (rsv << 4) | opcode
        length = len(payload) if declared is None else declared
        if length < 126:
            head = bytes([first, (0x80 if mask else 0) | length])
        elif length < 1 << 16:
            head = bytes([first, (0x80 if mask else 0) | 126]) + struct.pack(">H", length)
        else:
            head = bytes([first, (0x80 if mask else 0) | 127]) + struct.pack(">Q", length)
        if mask:
            key = os.urandom(4)
            head += key
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if len(payload) < 4096 else \
                _mask_fast(payload, key)
        self.sock.sendall(head + payload)

    def send_binary(self, payload):
        self.send_frame(0x2, payload)

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError(f"connection closed with {len(self.buffer)} of {n} bytes")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def recv_frame(self, timeout=30):
        """(fin, opcode, payload) of the next server frame; server frames must not be masked."""
        self.sock.settimeout(timeout)
        first, second = self._read(2)
        assert not second & 0x80, "a masked frame from the server"
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack(">H", self._read(2))
        elif length == 127:
            (length,) = struct.unpack(">Q", self._read(8))
        return bool(first & 0x80), first & 0x0F, self._read(length)

    def until_close(self, timeout=30):
        """Data frames until the server's Close: (messages as (opcode, payload), close code or None
        when the TCP connection ended without a Close frame)."""
        messages, deadline = [], time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no Close frame within {timeout} s; got {messages[-5:]}")
            try:
                fin, opcode, payload = self.recv_frame(timeout=remaining)
            except (EOFError, ConnectionError):
                return messages, None
            except socket.timeout:
                raise AssertionError(f"no Close frame within {timeout} s; got {messages[-5:]}")
            if opcode == 0x8:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
                with contextlib.suppress(OSError):
                    self.send_frame(0x8, payload[:2])
                return messages, code
            if opcode == 0x9:
                self.send_frame(0xA, payload)
                continue
            messages.append((opcode, payload))

    def read_http_body(self, timeout=10):
        """The body of a non-101 answer (Content-Length, else until EOF)."""
        self.sock.settimeout(timeout)
        length = self.headers.get("content-length")
        if length is not None:
            return self._read(int(length))
        data = self.buffer
        with contextlib.suppress(OSError):
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        return data

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()


def _mask_fast(payload, key):
    """XOR with the 4-byte mask, fast for megabytes (int arithmetic on the whole buffer)."""
    n = len(payload)
    repeated = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")


def raw_exec_path(session_id, cmd, **options):
    return f"/v1/sessions/{session_id}/exec?" + urllib.parse.urlencode(exec_query(cmd, **options), doseq=True)
