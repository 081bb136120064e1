"""Fixtures for the gRPC interop tests: Python stubs generated at test time (proto/fixtures and
the grpc.testing interop protos), one execbox-grpc-testserver and one execbox-interop-server
process per session, and the path of execbox-interop-client."""
import os
import pathlib
import subprocess
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _binary(variable, name):
    """The built executable: from the environment (scripts/test exports it) or the build folder."""
    if os.environ.get(variable):
        return os.environ[variable]
    bin_path = subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip()
    return os.path.join(bin_path, name)


def _server_binary():
    return _binary("EXECBOX_GRPC_TESTSERVER", "execbox-grpc-testserver")


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


# MARK: the standard interop TestService (grpc.testing)


@pytest.fixture(scope="session")
def interop_pb():
    """Python modules for proto/grpc/testing: `empty_pb2`, `messages_pb2`, `test_pb2`,
    `test_pb2_grpc` as attributes. The files are compiled from a copy under `execbox_interop/`
    because a top-level `grpc/testing` package would collide with grpcio's own `grpc` package;
    the proto package (and so every name on the wire) stays `grpc.testing`."""
    out = pathlib.Path(tempfile.mkdtemp(prefix="execbox-interop-stubs-"))
    src = out / "src" / "execbox_interop"
    src.mkdir(parents=True)
    for proto in sorted((ROOT / "proto" / "grpc" / "testing").glob("*.proto")):
        text = proto.read_text().replace('import "grpc/testing/', 'import "execbox_interop/')
        (src / proto.name).write_text(text)
    subprocess.check_call([
        sys.executable, "-m", "grpc_tools.protoc", "-I", str(out / "src"),
        f"--python_out={out}", f"--grpc_python_out={out}", *sorted(str(p) for p in src.glob("*.proto")),
    ])
    sys.path.insert(0, str(out))
    from execbox_interop import empty_pb2, messages_pb2, test_pb2, test_pb2_grpc  # noqa: E402

    class Modules:
        pass

    modules = Modules()
    modules.empty_pb2, modules.messages_pb2 = empty_pb2, messages_pb2
    modules.test_pb2, modules.test_pb2_grpc = test_pb2, test_pb2_grpc
    return modules


class InteropServerProcess:
    """One `execbox-interop-server --port 0`: its address, pid and resident memory."""

    def __init__(self):
        binary = _binary("EXECBOX_INTEROP_SERVER", "execbox-interop-server")
        self.proc = subprocess.Popen([binary, "--port", "0"], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:"), line
        self.address = line.split()[-1]
        self.host, port = self.address.rsplit(":", 1)
        self.port = int(port)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def rss_bytes(self):
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS for the interop server")

    def open_fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def interop_server():
    server = InteropServerProcess()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def interop_client_binary():
    return _binary("EXECBOX_INTEROP_CLIENT", "execbox-interop-client")
