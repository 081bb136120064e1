import ExecboxFixtures
import ExecboxRPC
import ExecboxTesting
import ExecboxWellKnownTypes
import ExecboxWire
import Testing

typealias Nested = Execbox_Fixtures_V1_Nested

/// Serves the fixture service: echoes, sums and counts, so each call kind has a checkable answer.
struct FeatureService: Execbox_Fixtures_V1_FeatureServiceProtocol {
    func unary(request: Nested, context: ServerContext) async throws -> Nested {
        if request.name == "fail" {
            throw RPCError(code: .failedPrecondition, message: "asked to fail")
        }
        if request.name == "crash" {
            struct Internal: Error {}
            throw Internal()
        }
        return Nested.with {
            $0.id = request.id + 1
            $0.name = context.metadata.first("x-greeting") ?? "none"
        }
    }

    func clientStream(requests: RPCAsyncSequence<Nested>, context: ServerContext) async throws -> Nested {
        var sum: Int32 = 0
        for try await request in requests { sum += request.id }
        return Nested.with { $0.id = sum }
    }

    func serverStream(request: Nested, responses: RPCWriter<Nested>, context: ServerContext) async throws {
        for i in 0..<request.id {
            try await responses.write(Nested.with { $0.id = i })
        }
    }

    func bidi(requests: RPCAsyncSequence<Nested>, responses: RPCWriter<Nested>, context: ServerContext) async throws {
        for try await request in requests {
            try await responses.write(Nested.with { $0.id = request.id * 2 })
        }
    }

    func ping(request: Google_Protobuf_Empty, context: ServerContext) async throws -> Google_Protobuf_Empty {
        request
    }
}

@Suite struct InProcessTransportTests {
    let client = Execbox_Fixtures_V1_FeatureServiceClient(transport: InProcessTransport(services: [FeatureService()]))

    @Test func unaryWithMetadata() async throws {
        var metadata = Metadata()
        metadata.add("X-Greeting", "hello")
        let response = try await client.unary(Nested.with { $0.id = 41 }, metadata: metadata)
        #expect(
            response
                == Nested.with {
                    $0.id = 42; $0.name = "hello"
                })
    }

    @Test func clientStreaming() async throws {
        let response = try await client.clientStream { writer in
            for i in 1...10 { try await writer.write(Nested.with { $0.id = Int32(i) }) }
        }
        #expect(response.id == 55)
    }

    @Test func serverStreamingArrivesInOrder() async throws {
        let ids = try await client.serverStream(Nested.with { $0.id = 100 }) { responses in
            var ids: [Int32] = []
            for try await response in responses { ids.append(response.id) }
            return ids
        }
        #expect(ids == Array(0..<100))
    }

    @Test func bidirectional() async throws {
        let ids = try await client.bidi { writer in
            for i in 1...5 { try await writer.write(Nested.with { $0.id = Int32(i) }) }
        } onResponse: { responses in
            var ids: [Int32] = []
            for try await response in responses { ids.append(response.id) }
            return ids
        }
        #expect(ids == [2, 4, 6, 8, 10])
    }

    @Test func errorsCarryTheirStatus() async throws {
        await #expect(throws: RPCError(code: .failedPrecondition, message: "asked to fail")) {
            try await client.unary(Nested.with { $0.name = "fail" })
        }
    }

    @Test func otherErrorsBecomeUnknownWithoutDetails() async throws {
        let error = await #expect(throws: RPCError.self) {
            try await client.unary(Nested.with { $0.name = "crash" })
        }
        #expect(error?.code == .unknown)
        #expect(error?.message == "handler failed")
    }

    @Test func unknownMethodIsUnimplemented() async throws {
        let transport = InProcessTransport(services: [])
        let other = Execbox_Fixtures_V1_FeatureServiceClient(transport: transport)
        let error = await #expect(throws: RPCError.self) { try await other.unary(Nested()) }
        #expect(error?.code == .unimplemented)
    }

    @Test func undecodableRequestIsAnError() async throws {
        let transport = InProcessTransport(services: [FeatureService()])
        let error = await #expect(throws: RPCError.self) {
            try await transport.call(
                Execbox_Fixtures_V1_FeatureServiceMethods.unary,
                metadata: [],
                options: CallOptions()
            ) { outbound, inbound in
                try await outbound.messages.write([0x0a, 0x05])
                try await outbound.finish()
                for try await _ in inbound.messages {}
            }
        }
        #expect(error?.code == .internal)
        #expect(error?.message.contains("execbox.fixtures.v1.Nested") == true)
    }

    @Test func generatedDescriptorsNameTheWirePaths() {
        #expect(Execbox_Fixtures_V1_FeatureServiceMethods.bidi.path == "/execbox.fixtures.v1.FeatureService/Bidi")
        #expect(Execbox_Fixtures_V1_FeatureServiceMethods.bidi.kind == .bidirectionalStreaming)
        #expect(Execbox_Fixtures_V1_FeatureServiceMethods.all.count == 5)
        let router = RPCRouter(services: [FeatureService()])
        #expect(router.serviceNames == ["execbox.fixtures.v1.FeatureService"])
    }
}
