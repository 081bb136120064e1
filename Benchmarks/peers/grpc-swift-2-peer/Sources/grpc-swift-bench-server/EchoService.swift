import GRPCCore

/// Answers every message with itself: the same semantics as Execbox's `EchoService` in
/// `Benchmarks/Sources/execbox-bench-rpc-server`.
struct EchoService: Execbox_Bench_V1_EchoService.SimpleServiceProtocol {
    func unary(
        request: Execbox_Bench_V1_EchoMessage,
        context: ServerContext
    ) async throws -> Execbox_Bench_V1_EchoMessage {
        request
    }

    func bidi(
        request: RPCAsyncSequence<Execbox_Bench_V1_EchoMessage, any Error>,
        response: RPCWriter<Execbox_Bench_V1_EchoMessage>,
        context: ServerContext
    ) async throws {
        for try await message in request { try await response.write(message) }
    }
}
