import ExecboxFixtures
import ExecboxGRPC
import ExecboxHTTP2
import ExecboxRPC
import ExecboxTesting
import ExecboxWire
import NIOCore
import Testing

typealias Nested = Execbox_Fixtures_V1_Nested

/// The generated client over GRPCClientTransport against GRPCServer, over real HTTP/2 sockets.
@Suite(.serialized) struct GRPCEndToEndTests {
    func withClient<R: Sendable>(
        _ body: @Sendable (Execbox_Fixtures_V1_FeatureServiceClient<GRPCClientTransport>) async throws -> R
    ) async throws -> R {
        let grpc = GRPCServer(router: RPCRouter(services: [FixtureFeatureService()]))
        let server = try await HTTP2Server.bind(host: "127.0.0.1", port: 0)
        return try await withThrowingTaskGroup(of: R?.self) { group in
            group.addTask {
                try await server.run(handler: grpc.handler)
                return nil
            }
            let transport = try await GRPCClientTransport.connect(host: "127.0.0.1", port: server.localAddress.port!)
            let result = try await body(Execbox_Fixtures_V1_FeatureServiceClient(transport: transport))
            try await transport.connection.close()
            group.cancelAll()
            return result
        }
    }

    @Test func allFourCallKinds() async throws {
        try await withClient { (client) async throws in
            var metadata = Metadata()
            metadata.add("x-greeting", "hi")
            #expect(
                try await client.unary(Nested.with { $0.id = 1 }, metadata: metadata)
                    == Nested.with {
                        $0.id = 2
                        $0.name = "hi"
                    })
            let sum = try await client.clientStream { writer in
                for i in 1...100 { try await writer.write(Nested.with { $0.id = Int32(i) }) }
            }
            #expect(sum.id == 5050)
            let streamed = try await client.serverStream(Nested.with { $0.id = 500 }) { responses in
                var ids: [Int32] = []
                for try await response in responses { ids.append(response.id) }
                return ids
            }
            #expect(streamed == Array(0..<500))
            let doubled = try await client.bidi { writer in
                for i in 0..<20 { try await writer.write(Nested.with { $0.id = Int32(i) }) }
            } onResponse: { responses in
                var ids: [Int32] = []
                for try await response in responses { ids.append(response.id) }
                return ids
            }
            #expect(doubled == (0..<20).map { Int32($0 * 2) })
        }
    }

    @Test func statusAndMessageCrossTheWire() async throws {
        try await withClient { (client) async throws in
            let error = await #expect(throws: RPCError.self) {
                try await client.unary(Nested.with { $0.name = "fail" })
            }
            #expect(error?.code == .failedPrecondition)
            #expect(error?.message == FixtureFeatureService.failureMessage)
            let unknown = await #expect(throws: RPCError.self) {
                try await client.unary(Nested.with { $0.name = "crash" })
            }
            #expect(unknown?.code == .unknown)
        }
    }

    @Test func deadlineExceeded() async throws {
        try await withClient { (client) async throws in
            let error = await #expect(throws: RPCError.self) {
                try await client.unary(
                    Nested.with { $0.name = "sleep" }, options: CallOptions(timeout: .milliseconds(300)))
            }
            #expect(error?.code == .deadlineExceeded)
            // The connection still serves the next call.
            #expect(try await client.unary(Nested.with { $0.id = 7 }).id == 8)
        }
    }

    @Test func unknownMethodIsUnimplemented() async throws {
        let grpc = GRPCServer(router: RPCRouter(services: []))
        let server = try await HTTP2Server.bind(host: "127.0.0.1", port: 0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run(handler: grpc.handler) }
            let transport = try await GRPCClientTransport.connect(host: "127.0.0.1", port: server.localAddress.port!)
            let client = Execbox_Fixtures_V1_FeatureServiceClient(transport: transport)
            let error = await #expect(throws: RPCError.self) { try await client.unary(Nested()) }
            #expect(error?.code == .unimplemented)
            try await transport.connection.close()
            group.cancelAll()
        }
    }
}
