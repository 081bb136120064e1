"""Python grpcio (the reference gRPC client) against Execbox's gRPC server: the four call kinds,
metadata, status codes and messages, deadlines, limits and unknown methods."""
import grpc
import pytest


@pytest.fixture
def stub(server, stubs):
    _, pb_grpc = stubs
    with grpc.insecure_channel(server) as channel:
        yield pb_grpc.FeatureServiceStub(channel)


def test_unary_with_metadata(stub, stubs):
    pb, _ = stubs
    reply = stub.Unary(pb.Nested(id=41), metadata=[("x-greeting", "hello")], timeout=10)
    assert reply.id == 42
    assert reply.name == "hello"


def test_client_streaming(stub, stubs):
    pb, _ = stubs
    reply = stub.ClientStream(iter([pb.Nested(id=i) for i in range(1, 101)]), timeout=10)
    assert reply.id == 5050


def test_server_streaming_in_order(stub, stubs):
    pb, _ = stubs
    ids = [m.id for m in stub.ServerStream(pb.Nested(id=2000), timeout=20)]
    assert ids == list(range(2000))


def test_bidirectional(stub, stubs):
    pb, _ = stubs
    replies = stub.Bidi(iter([pb.Nested(id=i) for i in range(50)]), timeout=10)
    assert [m.id for m in replies] == [i * 2 for i in range(50)]


def test_empty_messages(stub, stubs):
    from google.protobuf import empty_pb2
    assert stub.Ping(empty_pb2.Empty(), timeout=10) == empty_pb2.Empty()


def test_status_code_and_percent_encoded_message(stub, stubs):
    pb, _ = stubs
    with pytest.raises(grpc.RpcError) as info:
        stub.Unary(pb.Nested(name="fail"), timeout=10)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert info.value.details() == "asked to fail: fälsch ✓ 100%"


def test_other_errors_are_unknown_without_details(stub, stubs):
    pb, _ = stubs
    with pytest.raises(grpc.RpcError) as info:
        stub.Unary(pb.Nested(name="crash"), timeout=10)
    assert info.value.code() == grpc.StatusCode.UNKNOWN
    assert "Crash" not in info.value.details()


def test_deadline_cancels_the_handler(stub, stubs):
    pb, _ = stubs
    with pytest.raises(grpc.RpcError) as info:
        stub.Unary(pb.Nested(name="sleep"), timeout=0.5)
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_unknown_method_is_unimplemented(server):
    with grpc.insecure_channel(server) as channel:
        call = channel.unary_unary("/execbox.fixtures.v1.FeatureService/Nope")
        with pytest.raises(grpc.RpcError) as info:
            call(b"", timeout=10)
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_oversized_request_is_resource_exhausted(stub, stubs):
    pb, _ = stubs
    with pytest.raises(grpc.RpcError) as info:
        stub.Unary(pb.Nested(name="x" * (5 << 20)), timeout=20)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_undecodable_request(server):
    with grpc.insecure_channel(server) as channel:
        call = channel.unary_unary("/execbox.fixtures.v1.FeatureService/Unary")
        with pytest.raises(grpc.RpcError) as info:
            call(b"\x0a\x05ab", timeout=10)
    assert info.value.code() == grpc.StatusCode.INTERNAL


@pytest.mark.parametrize("algorithm", [grpc.Compression.Gzip, grpc.Compression.Deflate])
def test_compressed_calls_both_ways(server, stubs, algorithm):
    pb, pb_grpc = stubs
    with grpc.insecure_channel(server, compression=algorithm) as channel:
        stub = pb_grpc.FeatureServiceStub(channel)
        # The server reports whether the request message arrived compressed. grpc-core sends a
        # message uncompressed when compression would not shrink it: give it something to shrink.
        padded = pb.Nested(id=1, name="compressed?", children=[pb.Nested(name="x" * 200)] * 20)
        assert stub.Unary(padded, timeout=10).name == "true"
        with grpc.insecure_channel(server) as plain:
            assert pb_grpc.FeatureServiceStub(plain).Unary(padded, timeout=10).name == "false"
        name = "gzip" if algorithm == grpc.Compression.Gzip else "deflate"
        replies = stub.Bidi(iter([pb.Nested(id=i) for i in range(100)]), metadata=[("x-compress-response", name)], timeout=10)
        assert [m.id for m in replies] == [i * 2 for i in range(100)]


def test_many_concurrent_calls(stub, stubs):
    pb, _ = stubs
    futures = [stub.Unary.future(pb.Nested(id=i), timeout=20) for i in range(200)]
    assert sorted(f.result().id for f in futures) == list(range(1, 201))
