"""Execbox's generated client over GRPCClientTransport against a Python grpcio server."""
import subprocess
import time
from concurrent import futures

import grpc
import pytest

from conftest import _binary


def _client_binary():
    return _binary("EXECBOX_GRPC_TESTCLIENT", "execbox-grpc-testclient")


@pytest.fixture(scope="module")
def python_server(stubs):
    pb, pb_grpc = stubs

    class Service(pb_grpc.FeatureServiceServicer):
        def Unary(self, request, context):
            md = dict(context.invocation_metadata())
            if request.name == "fail":
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, "asked to fail: fälsch ✓ 100%")
            if request.name == "sleep":
                time.sleep(3)
            assert md.get("x-blob-bin", b"\x00\x01\x02\xff") == b"\x00\x01\x02\xff"
            return pb.Nested(id=request.id + 1, name=md.get("x-greeting", ""))

        def ClientStream(self, request_iterator, context):
            return pb.Nested(id=sum(r.id for r in request_iterator))

        def ServerStream(self, request, context):
            for i in range(request.id):
                yield pb.Nested(id=i)

        def Bidi(self, request_iterator, context):
            for r in request_iterator:
                yield pb.Nested(id=r.id * 2)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    pb_grpc.add_FeatureServiceServicer_to_server(Service(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port
    server.stop(0)


def test_generated_client_against_grpcio_server(python_server):
    out = subprocess.run([_client_binary(), "--port", str(python_server)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.strip().splitlines())
    assert lines["unary"] == "id=2 name=hi"
    assert lines["clientStream"] == "id=5050"
    assert lines["serverStream"] == "count=500 ordered=true"
    assert lines["bidi"] == "ids=" + ",".join(str(i * 2) for i in range(20))
    assert lines["fail"] == "code=9 message=asked to fail: fälsch ✓ 100%"
    assert lines["deadline"] == "code=4"
    assert lines["after"] == "id=8"
