"""Fixtures of the HTTP/2 attack and robustness suite (TESTPLAN §2.1 and §B, tests 36–48).

- One `execbox-http2-testserver` per test module (`server`): $EXECBOX_HTTP2_TESTSERVER, else
  .build/debug/ in this repository. Build it with
  `swift build --product execbox-http2-testserver`.
- After every test the server must still be alive (a crash fails the test with the exit status
  and the server's log, and a fresh server is started for the rest of the module).
- Every test has a time limit (SIGALRM; 60 s unless marked `time_limit(seconds)`).
- $HTTP2_BACKPRESSURE_BYTES: the size of the backpressure download (default 1 GiB).
- `tls_server`: a second server per module started with --tls-cert/--tls-key on a self-signed
  pair (`tls_pair`) made with the openssl CLI.

Needs: pip install h2 hyperframe hpack pytest (and sslyze for the TLS scan)
"""

import pathlib
import signal
import subprocess
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


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory):
    """A self-signed P-256 certificate for localhost and 127.0.0.1 (openssl CLI): (cert, key)."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "1", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


@pytest.fixture(scope="module")
def tls_server(tls_pair):
    """The test server with --tls-cert/--tls-key: a TLS-only listener."""
    cert, key = tls_pair
    process = h2util.ServerProcess(
        h2util.find_server_binary(), extra_args=("--tls-cert", cert, "--tls-key", key)
    ).start()
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
    for name in ("server", "tls_server"):
        if name not in request.fixturenames:
            continue
        process = request.getfixturevalue(name)
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
