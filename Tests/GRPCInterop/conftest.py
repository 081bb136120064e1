"""Fixtures for the gRPC interop tests: Python stubs generated from proto/fixtures at test time,
and one execbox-grpc-testserver process per session."""
import os
import pathlib
import subprocess
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _server_binary():
    if os.environ.get("EXECBOX_GRPC_TESTSERVER"):
        return os.environ["EXECBOX_GRPC_TESTSERVER"]
    bin_path = subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip()
    return os.path.join(bin_path, "execbox-grpc-testserver")


@pytest.fixture(scope="session")
def stubs():
    out = tempfile.mkdtemp(prefix="execbox-grpc-stubs-")
    subprocess.check_call([
        sys.executable, "-m", "grpc_tools.protoc", "-I", str(ROOT / "proto"), "-I", "/usr/include",
        f"--python_out={out}", f"--grpc_python_out={out}", "fixtures/v1/features.proto",
    ])
    sys.path.insert(0, out)
    from fixtures.v1 import features_pb2, features_pb2_grpc  # noqa: E402
    return features_pb2, features_pb2_grpc


@pytest.fixture(scope="session")
def server():
    proc = subprocess.Popen([_server_binary(), "--port", "0"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("listening on "), line
    port = int(line.split()[-1])
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)
