"""execbox-interop-client (the generated TestService client over GRPCClientTransport) against a
Python grpcio TestService written here to the interop spec, case by case; against the same server
made to break one assertion per case (the client must notice and exit non-zero); and against
execbox-interop-server for the cases a grpcio server cannot serve.

grpcio gives a server no way to see whether a request message arrived compressed, so the Python
server ignores `expect_compressed`: client_compressed_unary and client_compressed_streaming (whose
probes must fail INVALID_ARGUMENT) run against execbox-interop-server only."""
import subprocess
import time
from concurrent import futures

import grpc
import pytest

ECHO_INITIAL = "x-grpc-test-echo-initial"
ECHO_TRAILING = "x-grpc-test-echo-trailing-bin"
CODES = {code.value[0]: code for code in grpc.StatusCode}

PYTHON_SERVER_CASES = [
    "empty_unary", "large_unary", "server_compressed_unary", "client_streaming", "server_streaming",
    "server_compressed_streaming", "ping_pong", "empty_stream", "cancel_after_begin",
    "cancel_after_first_response", "timeout_on_sleeping_server", "custom_metadata", "status_code_and_message",
    "special_status_message", "unimplemented_method", "unimplemented_service", "rpc_soak", "channel_soak",
    "concurrent_large_unary",
]
ALL_CASES = PYTHON_SERVER_CASES + ["client_compressed_unary", "client_compressed_streaming"]


def make_servicer(interop_pb):
    pb = interop_pb.messages_pb2
    empty = interop_pb.empty_pb2

    class Servicer(interop_pb.test_pb2_grpc.TestServiceServicer):
        """The interop server semantics in grpcio. `fault` names one case whose assertion this
        server breaks on purpose (wrong size, order, status, metadata or compression)."""

        fault = None

        def _echo(self, context):
            metadata = context.invocation_metadata()
            initial = [(k, v) for k, v in metadata if k == ECHO_INITIAL]
            trailing = [(k, v) for k, v in metadata if k == ECHO_TRAILING]
            if self.fault == "custom_metadata":
                return
            if initial:
                context.send_initial_metadata(initial)
            if trailing:
                context.set_trailing_metadata(trailing)

        def _status(self, status, context):
            if status.code:
                message = status.message + (" (changed)" if self.fault == "status_code_and_message" else "")
                if self.fault == "special_status_message":
                    message = message.strip()
                context.abort(CODES[status.code], message)

        def _payload(self, size):
            if self.fault == "large_unary" and size == 314159:
                size -= 1
            return pb.Payload(body=bytes(size))

        def EmptyCall(self, request, context):
            self._echo(context)
            return empty.Empty()

        def UnaryCall(self, request, context):
            self._echo(context)
            self._status(request.response_status, context)
            if request.HasField("response_compressed"):
                compress = request.response_compressed.value != (self.fault == "server_compressed_unary")
                context.set_compression(grpc.Compression.Gzip if compress else grpc.Compression.NoCompression)
            return pb.SimpleResponse(payload=self._payload(request.response_size))

        def StreamingInputCall(self, request_iterator, context):
            self._echo(context)
            total = sum(len(r.payload.body) for r in request_iterator)
            return pb.StreamingInputCallResponse(aggregated_payload_size=total + (self.fault == "client_streaming"))

        def _responses(self, request, context):
            parameters = list(request.response_parameters)
            if self.fault == "server_streaming":
                parameters.reverse()
            if any(p.HasField("compressed") and p.compressed.value for p in parameters):
                context.set_compression(grpc.Compression.Gzip)
            for p in parameters:
                if p.interval_us:
                    time.sleep(p.interval_us / 1e6)
                compressed = p.HasField("compressed") and p.compressed.value
                if compressed == (self.fault == "server_compressed_streaming"):
                    context.disable_next_message_compression()
                yield pb.StreamingOutputCallResponse(payload=self._payload(p.size))
            self._status(request.response_status, context)

        def StreamingOutputCall(self, request, context):
            self._echo(context)
            yield from self._responses(request, context)

        def FullDuplexCall(self, request_iterator, context):
            self._echo(context)
            if self.fault == "empty_stream":
                yield pb.StreamingOutputCallResponse()
            for request in request_iterator:
                if self.fault == "ping_pong" and len(request.payload.body) == 1828:
                    request.response_parameters[0].size += 1
                yield from self._responses(request, context)

        def HalfDuplexCall(self, request_iterator, context):
            self._echo(context)
            for request in list(request_iterator):
                yield from self._responses(request, context)

    return Servicer()


@pytest.fixture(scope="module")
def python_interop_server(interop_pb):
    servicer = make_servicer(interop_pb)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    interop_pb.test_pb2_grpc.add_TestServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port, servicer
    server.stop(0)


def run_client(binary, port, case, *extra):
    return subprocess.run(
        [binary, "--server-port", str(port), "--test-case", case, *extra],
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize("case", PYTHON_SERVER_CASES)
def test_case_against_grpcio_server(interop_client_binary, python_interop_server, case):
    port, servicer = python_interop_server
    servicer.fault = None
    out = run_client(interop_client_binary, port, case)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == f"PASS {case}"


@pytest.mark.parametrize("case", [
    "large_unary", "server_compressed_unary", "client_streaming", "server_streaming",
    "server_compressed_streaming", "ping_pong", "empty_stream", "custom_metadata", "status_code_and_message",
    "special_status_message",
])
def test_a_server_breaking_the_case_fails_it(interop_client_binary, python_interop_server, case):
    port, servicer = python_interop_server
    servicer.fault = case
    try:
        out = run_client(interop_client_binary, port, case)
    finally:
        servicer.fault = None
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout.startswith(f"FAIL {case}: "), out.stdout


def test_runner_style_flags(interop_client_binary, python_interop_server):
    port, _ = python_interop_server
    out = subprocess.run(
        [interop_client_binary, f"--server_port={port}", "--server_host=127.0.0.1", "--test_case=large_unary",
         "--use_tls=false"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == "PASS large_unary"


def test_unknown_case_and_unreachable_server_fail(interop_client_binary):
    out = run_client(interop_client_binary, 1, "no_such_case")
    assert out.returncode == 2 and "unknown test case" in out.stdout
    with socket_bound_then_closed() as port:
        out = run_client(interop_client_binary, port, "empty_unary")
    assert out.returncode == 1 and out.stdout.startswith("FAIL empty_unary: cannot connect")


class socket_bound_then_closed:
    """A loopback port nothing listens on."""

    def __enter__(self):
        import socket
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        return port

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("case", ALL_CASES)
def test_case_against_execbox_interop_server(interop_client_binary, interop_server, case):
    out = run_client(interop_client_binary, interop_server.port, case)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == f"PASS {case}"
