import BenchEcho
import ExecboxRPC

/// Answers every message with itself: the same semantics as the grpc-swift-2 peer's `EchoService`.
struct EchoService: Execbox_Bench_V1_EchoServiceProtocol {
    func unary(request: Execbox_Bench_V1_EchoMessage, context: ServerContext) async throws
        -> Execbox_Bench_V1_EchoMessage
    {
        request
    }

    func bidi(
        requests: RPCAsyncSequence<Execbox_Bench_V1_EchoMessage>,
        responses: RPCWriter<Execbox_Bench_V1_EchoMessage>,
        context: ServerContext
    ) async throws {
        for try await message in requests { try await responses.write(message) }
    }
}
