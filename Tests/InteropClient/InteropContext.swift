import ExecboxGRPC
import ExecboxInterop
import ExecboxRPC
import ExecboxWire

/// What every case runs with: the connection to the server under test and the case settings.
struct InteropContext: Sendable {
    let host: String
    let port: Int
    let transport: GRPCClientTransport
    /// Calls per soak case.
    let soakIterations: Int
    /// Calls in flight at once in concurrent_large_unary.
    let concurrency: Int

    var client: Grpc_Testing_TestServiceClient<GRPCClientTransport> {
        Grpc_Testing_TestServiceClient(transport: transport)
    }

    /// A new connection, for the cases that rebuild the channel.
    func reconnect() async throws -> GRPCClientTransport {
        try await GRPCClientTransport.connect(host: host, port: port)
    }

    static func zeros(_ count: Int) -> Grpc_Testing_Payload {
        .with { $0.body = [UInt8](repeating: 0, count: count) }
    }

    /// large_unary's request: 314159 bytes back for 271828 sent.
    static let largeRequest = Grpc_Testing_SimpleRequest.with {
        $0.responseSize = 314_159
        $0.payload = zeros(271_828)
    }

    static func bool(_ value: Bool) -> Grpc_Testing_BoolValue {
        .with { $0.value = value }
    }

    static func responses(_ sizes: [Int32]) -> Grpc_Testing_StreamingOutputCallRequest {
        .with { request in request.responseParameters = sizes.map { size in .with { $0.size = size } } }
    }
}
