import ExecboxGRPC
import ExecboxHTTP2
import ExecboxInterop
import ExecboxRPC

/// large_unary repeated: on one connection (rpc_soak), on a new connection each time
/// (channel_soak), or all at once on one connection (concurrent_large_unary).
enum SoakCases {
    static func rpcSoak(_ context: InteropContext) async throws {
        for iteration in 0..<context.soakIterations {
            let response = try await context.client.unaryCall(InteropContext.largeRequest)
            try expectZeros(response.payload?.body, size: 314_159, "rpc_soak iteration \(iteration + 1)")
        }
    }

    static func channelSoak(_ context: InteropContext) async throws {
        for iteration in 0..<context.soakIterations {
            let transport = try await context.reconnect()
            let client = Grpc_Testing_TestServiceClient(transport: transport)
            let response = try await client.unaryCall(InteropContext.largeRequest)
            try await transport.connection.close()
            try expectZeros(response.payload?.body, size: 314_159, "channel_soak iteration \(iteration + 1)")
        }
    }

    static func concurrentLargeUnary(_ context: InteropContext) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<context.concurrency {
                group.addTask {
                    // A deadline, so that a stalled connection fails the case instead of hanging it.
                    let response = try await context.client.unaryCall(
                        InteropContext.largeRequest,
                        options: CallOptions(timeout: .seconds(30))
                    )
                    try expectZeros(response.payload?.body, size: 314_159, "concurrent_large_unary call \(index + 1)")
                }
            }
            try await group.waitForAll()
        }
    }
}
