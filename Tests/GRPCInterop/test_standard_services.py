"""Stock gRPC tooling against `execbox-server serve`: grpcio's health client (Check, List, Watch
across a SIGTERM), grpcio's reflection client resolving the API into Python message classes, the
session services of a server started with --backend none answering UNIMPLEMENTED (AccountService
is served; see test_service_accounts.py; the sessions themselves are in test_service_sessions.py),
and reflection switched off (TESTPLAN 55)."""
import os
import pathlib
import signal
import subprocess
import tempfile
import time

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
EXECBOX_SERVICES = [
    "execbox.v1.SessionService", "execbox.v1.ProcessService", "execbox.v1.FileService",
    "execbox.v1.NetworkService", "execbox.v1.ImageService", "execbox.v1.AccountService",
]
# Served only with a sandbox backend (ImageService too, since image builds; test_images.py in Tests/Gateway checks
# it SERVING on a runc server). These servers run with --backend none.
WITHOUT_A_BACKEND = [service for service in EXECBOX_SERVICES if service != "execbox.v1.AccountService"]


def _binary():
    if os.environ.get("EXECBOX_SERVER"):
        return os.environ["EXECBOX_SERVER"]
    bin_path = subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip()
    return os.path.join(bin_path, "execbox-server")


class Server:
    """One `execbox-server serve` on a free loopback port, with its own data directory."""

    def __init__(self, *flags, env=None, credentials=None):
        self.data_dir = tempfile.mkdtemp(prefix="execbox-server-")
        command = [_binary(), "serve", "--listen", "127.0.0.1:0", "--data-dir", self.data_dir + "/data",
                   "--backend", "none", *flags]
        self.proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {})})
        # The first start announces the bootstrap admin key (the last line before `listening on`).
        self.key = None
        while True:
            line = self.proc.stdout.readline()
            if not line or line.startswith("listening on "):
                break
            self.key = line.strip() if line.startswith("ebx_") else self.key
        assert line.startswith("listening on 127.0.0.1:"), (line, self.proc.stderr.read() if not line else "")
        self.address = line.split()[-1]
        if credentials is None:
            self.channel = grpc.insecure_channel(self.address)
        else:
            self.channel = grpc.secure_channel("localhost:" + self.address.split(":")[-1], credentials)

    def stop(self):
        self.channel.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=20)


@pytest.fixture(scope="module")
def execbox_server():
    server = Server()
    yield server
    assert server.stop() == 0


@pytest.fixture
def health(execbox_server):
    return health_pb2_grpc.HealthStub(execbox_server.channel)


def test_data_directory_is_private(execbox_server):
    assert os.stat(execbox_server.data_dir + "/data").st_mode & 0o777 == 0o700


def test_check_whole_server_is_serving(health):
    assert health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10).status == SERVING
    reply = health.Check(health_pb2.HealthCheckRequest(service="grpc.health.v1.Health"), timeout=10)
    assert reply.status == SERVING


def test_check_unknown_service_is_not_found(health):
    with pytest.raises(grpc.RpcError) as error:
        health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_services_that_need_a_backend_are_reported_not_serving_without_one(health):
    for service in WITHOUT_A_BACKEND:
        assert health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status == NOT_SERVING
    account = health.Check(health_pb2.HealthCheckRequest(service="execbox.v1.AccountService"), timeout=10)
    assert account.status == SERVING


def test_list(health):
    statuses = health.List(health_pb2.HealthListRequest(), timeout=10).statuses
    assert statuses[""].status == SERVING
    assert set(EXECBOX_SERVICES) <= set(statuses)


def test_watch_sees_serving_then_not_serving_on_sigterm():
    server = Server()
    try:
        stub = health_pb2_grpc.HealthStub(server.channel)
        updates = stub.Watch(health_pb2.HealthCheckRequest(service=""), timeout=30)
        assert next(updates).status == SERVING
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert next(updates).status == NOT_SERVING
        with pytest.raises(grpc.RpcError) as error:
            next(updates)
        assert error.value.code() == grpc.StatusCode.UNAVAILABLE
        assert server.proc.wait(timeout=20) == 0
        assert time.monotonic() - started < 10, "the Watch stream must not hold up the drain"
    finally:
        server.stop()


def test_watch_of_an_unknown_service_is_service_unknown(health):
    updates = health.Watch(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=30)
    assert next(updates).status == health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
    updates.cancel()


def test_reflection_lists_the_services(execbox_server):
    services = set(ProtoReflectionDescriptorDatabase(execbox_server.channel).get_services())
    assert set(EXECBOX_SERVICES) <= services
    assert {"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection"} <= services


def test_reflection_builds_message_classes(execbox_server):
    pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(execbox_server.channel))
    request_type = message_factory.GetMessageClass(pool.FindMessageTypeByName("execbox.v1.CreateSessionRequest"))
    request = request_type(image="python:3.12")
    assert request_type.FromString(request.SerializeToString()).image == "python:3.12"
    service = pool.FindServiceByName("execbox.v1.SessionService")
    assert "CreateSession" in [m.name for m in service.methods]
    assert service.methods_by_name["CreateSession"].input_type.full_name == "execbox.v1.CreateSessionRequest"
    # Every described service resolves, with its imports (google/protobuf/timestamp.proto among them).
    for name in EXECBOX_SERVICES + ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"]:
        assert pool.FindServiceByName(name).full_name == name
    assert pool.FindMessageTypeByName("google.protobuf.Timestamp").full_name == "google.protobuf.Timestamp"


def _ask(channel, path, *requests):
    call = channel.stream_stream(
        path, request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    return list(call(iter(requests), timeout=10))


def test_reflection_v1_and_errors(execbox_server):
    # grpcio ships only v1alpha messages; v1 is wire-identical, so they serve for v1 too.
    responses = _ask(
        execbox_server.channel, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="execbox.v1.SessionService.CreateSession"),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="execbox.v1.NoSuchThing"),
        reflection_pb2.ServerReflectionRequest(file_by_filename="no/such.proto"),
        reflection_pb2.ServerReflectionRequest(file_containing_extension=reflection_pb2.ExtensionRequest(
            containing_type="execbox.v1.Session", extension_number=100)),
    )
    assert len(responses) == 4
    from google.protobuf import descriptor_pb2
    first = descriptor_pb2.FileDescriptorProto.FromString(
        responses[0].file_descriptor_response.file_descriptor_proto[0])
    assert first.name == "execbox/v1/session.proto"
    assert not first.HasField("source_code_info")
    for response in responses[1:]:
        assert response.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]


def test_execbox_methods_are_unimplemented(execbox_server):
    pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(execbox_server.channel))
    request_type = message_factory.GetMessageClass(pool.FindMessageTypeByName("execbox.v1.CreateSessionRequest"))
    call = execbox_server.channel.unary_unary(
        "/execbox.v1.SessionService/CreateSession", request_serializer=request_type.SerializeToString,
        response_deserializer=lambda b: b)
    auth = (("authorization", f"Bearer {execbox_server.key}"),)
    with pytest.raises(grpc.RpcError) as error:
        call(request_type(image="python:3.12"), metadata=auth, timeout=10)
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "needs a sandbox backend" in error.value.details()
    # Image builds run in sandboxes too.
    image_call = execbox_server.channel.unary_unary(
        "/execbox.v1.ImageService/GetImage", request_serializer=lambda b: b, response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError) as error:
        image_call(b"", metadata=auth, timeout=10)
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "needs a sandbox backend" in error.value.details()

    # A bidirectional one: UNIMPLEMENTED without waiting for the client to finish sending.
    exec_call = execbox_server.channel.stream_stream(
        "/execbox.v1.ProcessService/Exec", request_serializer=lambda b: b, response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError) as error:
        list(exec_call(iter([b""]), metadata=auth, timeout=10))
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.parametrize("how", ["flag", "env"])
def test_reflection_off_is_unimplemented(how):
    server = Server("--reflection", "off") if how == "flag" else Server(env={"EXECBOX_REFLECTION": "off"})
    try:
        with pytest.raises(grpc.RpcError) as error:
            list(ProtoReflectionDescriptorDatabase(server.channel).get_services())
        assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED
        health = health_pb2_grpc.HealthStub(server.channel)
        assert health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10).status == SERVING
    finally:
        assert server.stop() == 0


def test_bad_settings_fail_before_binding():
    for flags, env, message in [
        (["--listen", "nonsense"], {}, "--listen"),
        ([], {"EXECBOX_LISTEN": "127.0.0.1:70000"}, "EXECBOX_LISTEN"),
        (["--tls-cert", "/nonexistent.pem"], {}, "--tls-key"),
        (["--reflection", "sometimes"], {}, "reflection"),
        (["--listen", "127.0.0.1:0", "--tls-cert", "/nonexistent.pem", "--tls-key", "/none.key"], {}, "nonexistent"),
    ]:
        result = subprocess.run(
            [_binary(), "serve", "--data-dir", tempfile.mkdtemp() + "/d", *flags],
            capture_output=True, text=True, timeout=30, env={**os.environ, **env})
        assert result.returncode != 0, flags
        assert message in result.stderr, (flags, result.stderr)
        assert "listening on" not in result.stdout


def test_tls_from_the_environment(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
    server = Server(env={"EXECBOX_TLS_CERT": str(cert), "EXECBOX_TLS_KEY": str(key)}, credentials=credentials)
    try:
        health = health_pb2_grpc.HealthStub(server.channel)
        assert health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10).status == SERVING
        with grpc.insecure_channel(server.address) as plain:
            with pytest.raises(grpc.RpcError):
                health_pb2_grpc.HealthStub(plain).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    finally:
        assert server.stop() == 0
