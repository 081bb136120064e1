import ExecboxFixtures
import ExecboxRPC
import ExecboxTesting
import ExecboxWellKnownTypes
import ExecboxWire
import Testing

typealias Nested = Execbox_Fixtures_V1_Nested

@Suite struct InProcessTransportTests {
    let client = Execbox_Fixtures_V1_FeatureServiceClient(
        transport: InProcessTransport(services: [FixtureFeatureService()]))

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
        await #expect(throws: RPCError(code: .failedPrecondition, message: FixtureFeatureService.failureMessage)) {
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
        let transport = InProcessTransport(services: [FixtureFeatureService()])
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
        let router = RPCRouter(services: [FixtureFeatureService()])
        #expect(router.serviceNames == ["execbox.fixtures.v1.FeatureService"])
    }
}
