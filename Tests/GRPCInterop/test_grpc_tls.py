"""gRPC over TLS with real peers (issue 3): Python grpcio with TLS channel credentials against
execbox-grpc-testserver --tls-cert/--tls-key, and Execbox's client (execbox-grpc-testclient
--tls-ca) against a grpcio server with TLS server credentials. Certificates are verified on both
sides against a self-signed pair made here; nothing disables checks."""
import subprocess
from concurrent import futures

import grpc
import pytest

from conftest import _server_binary
from test_our_client import _client_binary


def _self_signed(directory, san="DNS:localhost,IP:127.0.0.1"):
    """A self-signed P-256 certificate for localhost (openssl CLI): (cert, key) paths."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    command = [
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
    ]
    if san:
        command += ["-addext", f"subjectAltName={san}"]
    subprocess.run(command, check=True, capture_output=True)
    return str(cert), str(key)


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory):
    return _self_signed(tmp_path_factory.mktemp("grpc-tls"))


@pytest.fixture(scope="module")
def tls_server(tls_pair):
    cert, key = tls_pair
    proc = subprocess.Popen(
        [_server_binary(), "--port", "0", "--tls-cert", cert, "--tls-key", key], stdout=subprocess.PIPE, text=True
    )
    line = proc.stdout.readline()
    assert line.startswith("listening on "), line
    yield int(line.split()[-1])
    proc.terminate()
    proc.wait(timeout=10)


def _secure_stub(port, cert, stubs):
    _, pb_grpc = stubs
    with open(cert, "rb") as f:
        credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
    channel = grpc.secure_channel(f"localhost:{port}", credentials)
    return channel, pb_grpc.FeatureServiceStub(channel)


def test_grpcio_over_tls_all_call_kinds(tls_server, tls_pair, stubs):
    pb, _ = stubs
    channel, stub = _secure_stub(tls_server, tls_pair[0], stubs)
    with channel:
        reply = stub.Unary(pb.Nested(id=41), metadata=[("x-greeting", "tls")], timeout=10)
        assert (reply.id, reply.name) == (42, "tls")
        assert stub.ClientStream(iter([pb.Nested(id=i) for i in range(1, 11)]), timeout=10).id == 55
        assert [m.id for m in stub.ServerStream(pb.Nested(id=300), timeout=10)] == list(range(300))
        assert [m.id for m in stub.Bidi(iter([pb.Nested(id=i) for i in range(5)]), timeout=10)] == [0, 2, 4, 6, 8]
        with pytest.raises(grpc.RpcError) as failure:
            stub.Unary(pb.Nested(name="fail"), timeout=10)
        assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_grpcio_rejects_an_untrusted_certificate(tls_server, tmp_path, stubs):
    pb, _ = stubs
    other, _ = _self_signed(tmp_path, san=None)
    channel, stub = _secure_stub(tls_server, other, stubs)
    with channel:
        with pytest.raises(grpc.RpcError) as failure:
            stub.Unary(pb.Nested(id=1), timeout=5)
        assert failure.value.code() == grpc.StatusCode.UNAVAILABLE


def test_plaintext_client_cannot_talk_to_the_tls_listener(tls_server, stubs):
    pb, pb_grpc = stubs
    with grpc.insecure_channel(f"127.0.0.1:{tls_server}") as channel:
        with pytest.raises(grpc.RpcError) as failure:
            pb_grpc.FeatureServiceStub(channel).Unary(pb.Nested(id=1), timeout=5)
        assert failure.value.code() == grpc.StatusCode.UNAVAILABLE


@pytest.fixture(scope="module")
def python_tls_server(stubs, tls_pair):
    pb, pb_grpc = stubs
    cert, key = tls_pair

    class Service(pb_grpc.FeatureServiceServicer):
        def Unary(self, request, context):
            md = dict(context.invocation_metadata())
            if request.name == "fail":
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, "asked to fail: fälsch ✓ 100%")
            if request.name == "sleep":
                import time
                time.sleep(3)
            # The client's :authority is the name it verified, not the resolved address.
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
    with open(cert, "rb") as c, open(key, "rb") as k:
        credentials = grpc.ssl_server_credentials([(k.read(), c.read())])
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    yield port
    server.stop(0)


def test_our_client_over_tls_against_grpcio(python_tls_server, tls_pair):
    cert, _ = tls_pair
    out = subprocess.run(
        [_client_binary(), "--host", "localhost", "--port", str(python_tls_server), "--tls-ca", cert],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.strip().splitlines())
    assert lines["unary"] == "id=2 name=hi"
    assert lines["serverStream"] == "count=500 ordered=true"
    assert lines["fail"] == "code=9 message=asked to fail: fälsch ✓ 100%"


def test_our_client_refuses_an_unverified_server(python_tls_server, tmp_path):
    other, _ = _self_signed(tmp_path, san=None)
    out = subprocess.run(
        [_client_binary(), "--host", "localhost", "--port", str(python_tls_server), "--tls-ca", other],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "unary" not in out.stdout
