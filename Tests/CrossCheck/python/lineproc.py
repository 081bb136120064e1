"""A long-running line-protocol subprocess: one request line in, one answer line out.

Both peers of the cross-checks (the Swift `execbox-wire-check` and the protobuf-c harness) speak
`<request> <base64>` → `OK <base64>` | `ERR <reason>`. One process serves a whole test session;
if it dies or hangs, the request that did it is reported and a fresh process is started, so one
crash fails one test and not the rest of the run.
"""

import base64
import os
import select
import subprocess
import tempfile


class PeerCrashed(Exception):
    """The peer exited or stopped answering while handling a request."""


class Answer:
    __slots__ = ("ok", "data", "reason")

    def __init__(self, ok, data=None, reason=""):
        self.ok = ok
        self.data = data
        self.reason = reason

    def __repr__(self):
        if self.ok:
            return f"OK({self.data[:64].hex()}{'…' if len(self.data) > 64 else ''}, {len(self.data)} bytes)"
        return f"ERR({self.reason})"


class LineProcess:
    def __init__(self, argv, name, timeout=120.0):
        # glibc block-buffers stdout into a pipe, and `print` in execbox-wire-check never
        # flushes; stdbuf makes stdout line-buffered so each answer arrives when it is written.
        self.argv = ["stdbuf", "-oL", *argv]
        self.name = name
        self.timeout = timeout
        self.crashes = []
        self.requests = 0
        self.proc = None
        self._start()

    def _start(self):
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, bufsize=0
        )
        self.buffer = b""

    def _restart(self, request_summary, what):
        self.stderr.seek(0)
        err = self.stderr.read()[-4000:].decode("utf-8", "replace")
        try:
            self.proc.kill()
        except OSError:
            pass
        self.proc.wait()
        self.crashes.append(request_summary)
        self._start()
        raise PeerCrashed(f"{self.name} {what} on request {request_summary}; stderr tail:\n{err}")

    def _readline(self, request_summary):
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([fd], [], [], self.timeout)
            if not ready:
                self._restart(request_summary, f"gave no answer in {self.timeout:.0f} s")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                code = self.proc.wait()
                self._restart(request_summary, f"exited with status {code}")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode("utf-8", "replace")

    def raw(self, line, request_summary=None):
        """Sends one line, returns the answer line (without the newline)."""
        summary = request_summary or line[:200]
        self.requests += 1
        try:
            self.proc.stdin.write(line.encode() + b"\n")
        except BrokenPipeError:
            self._restart(summary, "closed its input")
        return self._readline(summary)

    def lines_until(self, line, terminator):
        first = self.raw(line)
        out = [first]
        while out[-1] != terminator:
            out.append(self._readline(line))
        return out[:-1]

    def request(self, head, data):
        """Sends `<head> <base64 data>` and parses `OK <base64>` / `ERR <reason>`."""
        encoded = base64.b64encode(data).decode()
        summary = f"{head} {data[:200].hex()}{'…' if len(data) > 200 else ''} ({len(data)} bytes)"
        answer = self.raw(f"{head} {encoded}", summary)
        if answer == "OK" or answer.startswith("OK "):
            return Answer(True, base64.b64decode(answer[3:]))
        if answer.startswith("ERR"):
            return Answer(False, reason=answer[4:])
        raise AssertionError(f"{self.name}: unparsable answer {answer[:300]!r} to {summary}")

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
