"""Fixtures of the HTTP/2 attack and robustness suite (TESTPLAN §2.1 and §B, tests 36–48).

- One `execbox-http2-testserver` per test module (`server`): $EXECBOX_HTTP2_TESTSERVER, else the
  newest of .build/debug/ in this repository and /tmp/wt/.build/debug/. Build it with
  `swift build --product execbox-http2-testserver`.
- After every test the server must still be alive (a crash fails the test with the exit status
  and the server's log, and a fresh server is started for the rest of the module).
- Every test has a time limit (SIGALRM; 60 s unless marked `time_limit(seconds)`).
- $HTTP2_BACKPRESSURE_BYTES: the size of the backpressure download (default 1 GiB).

Needs: pip install h2 hyperframe hpack pytest
"""

import pathlib
import signal
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import h2util  # noqa: E402

DEFAULT_TIME_LIMIT = 60


@pytest.fixture(scope="module")
def server():
    process = h2util.ServerProcess(h2util.find_server_binary()).start()
    yield process
    process.stop()


class TestTimeLimitExceeded(Exception):
    __test__ = False


@pytest.fixture(autouse=True)
def _time_limit_and_server_check(request):
    marker = request.node.get_closest_marker("time_limit")
    seconds = int(marker.args[0]) if marker else DEFAULT_TIME_LIMIT

    def expired(signum, frame):
        raise TestTimeLimitExceeded(f"{request.node.nodeid} ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    if "server" in request.fixturenames:
        process = request.getfixturevalue("server")
        if not process.alive():
            code, log = process.returncode(), process.log_tail()
            process.stop()
            process.start()
            pytest.fail(f"the server died during {request.node.name} (exit {code}); log:\n{log}")


def pytest_report_header(config):
    try:
        binary = h2util.find_server_binary()
    except RuntimeError as error:
        binary = str(error)
    return f"http2 attacks: server {binary}"
