import ExecboxFixtures
import ExecboxHTTP2
import ExecboxRPC
import ExecboxTesting
import ExecboxWire
import NIOCore
import NIOPosix
import Testing

@testable import ExecboxGRPC

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

    /// Error details live in the trailers (`execbox-error-bin`, `retry-after-ms`): a failed call's
    /// error carries them, in Trailers-Only responses too.
    @Test func aFailedCallsErrorCarriesTheTrailers() async throws {
        try await withClient { (client) async throws in
            var metadata = Metadata()
            metadata.add("x-echo-trailing-bin", .binary([1, 2, 3]))
            let error = await #expect(throws: RPCError.self) {
                try await client.unary(Nested.with { $0.name = "fail" }, metadata: metadata)
            }
            #expect(error?.code == .failedPrecondition)
            #expect(
                error?.metadata.contains { $0.key == "x-echo-trailing-bin" && $0.value == .binary([1, 2, 3]) } == true,
                "\(String(describing: error?.metadata))")
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

extension GRPCEndToEndTests {
    @Test(arguments: [CompressionAlgorithm.gzip, .deflate])
    func compressedRequestsAndResponses(algorithm: CompressionAlgorithm) async throws {
        try await withClient { (client) async throws in
            let options = CallOptions(compression: algorithm)
            let seen = try await client.unary(Nested.with { $0.name = "compressed?" }, options: options)
            #expect(seen.name == "true")
            let plain = try await client.unary(Nested.with { $0.name = "compressed?" })
            #expect(plain.name == "false")
            // Compressed both ways on a stream, with a compressible payload.
            var metadata = Metadata()
            metadata.add("x-compress-response", algorithm.rawValue)
            let doubled = try await client.bidi(metadata: metadata, options: options) { writer in
                for i in 0..<50 { try await writer.write(Nested.with { $0.id = Int32(i) }) }
            } onResponse: { responses in
                var ids: [Int32] = []
                for try await response in responses { ids.append(response.id) }
                return ids
            }
            #expect(doubled == (0..<50).map { Int32($0 * 2) })
        }
    }

    @Test func responseMetadataReachesTheClient() async throws {
        try await withClient { (client) async throws in
            var metadata = Metadata()
            metadata.add("x-echo-initial", "initial value")
            metadata.add("x-echo-trailing-bin", .binary([0xAB, 0xAB, 0xAB]))
            let (initial, trailing) = try await client.transport.call(
                Execbox_Fixtures_V1_FeatureServiceMethods.unary,
                metadata: metadata,
                options: CallOptions()
            ) { outbound, inbound in
                try await outbound.messages.write(Nested.with { $0.id = 1 }.serializedBytes())
                try await outbound.finish()
                let initial = try await inbound.initialMetadata()
                for try await _ in inbound.messages {}
                return (initial, inbound.trailingMetadata)
            }
            #expect(initial.first("x-echo-initial") == "initial value")
            #expect(
                Array(trailing).contains { $0.key == "x-echo-trailing-bin" && $0.value == .binary([0xAB, 0xAB, 0xAB]) })
        }
    }
}

@Suite struct GRPCFramingTests {
    @Test(arguments: [nil, CompressionAlgorithm.gzip, .deflate])
    func framesRoundTrip(compression: CompressionAlgorithm?) throws {
        let message = Array(repeating: UInt8(ascii: "a"), count: 10_000) + [1, 2, 3]
        let frame = GRPCFrameDecoder.frame(message, compression: compression)
        #expect(frame.getInteger(at: 0, as: UInt8.self) == (compression == nil ? 0 : 1))
        if compression != nil { #expect(frame.readableBytes < 200) }
        var decoder = GRPCFrameDecoder(maxMessageBytes: 1 << 20, encoding: compression)
        // Split at every byte boundary of the header and somewhere in the body.
        var remaining = frame
        while let byte = remaining.readSlice(length: min(3, remaining.readableBytes)), byte.readableBytes > 0 {
            decoder.append(byte)
        }
        let decoded = try #require(try decoder.next())
        #expect(decoded.bytes == message)
        #expect(decoded.compressed == (compression != nil))
        #expect(try decoder.next() == nil)
        #expect(!decoder.hasPartialMessage)
    }

    @Test func decompressionIsBoundedByTheDecompressedSize() throws {
        // 64 MiB of zeros compresses to ~64 KiB: the limit must stop it at 4 MiB.
        let bomb = GRPCFrameDecoder.frame([UInt8](repeating: 0, count: 64 << 20), compression: .gzip)
        #expect(bomb.readableBytes < 100_000)
        var decoder = GRPCFrameDecoder(maxMessageBytes: 4 << 20, encoding: .gzip)
        decoder.append(bomb)
        let error = #expect(throws: RPCError.self) { try decoder.next() }
        #expect(error?.code == .resourceExhausted)
    }

    @Test func corruptOrUnnegotiatedCompressionIsInternal() throws {
        var corrupt = ByteBuffer()
        corrupt.writeInteger(UInt8(1))
        corrupt.writeInteger(UInt32(4))
        corrupt.writeBytes([1, 2, 3, 4])
        var decoder = GRPCFrameDecoder(maxMessageBytes: 1024, encoding: .deflate)
        decoder.append(corrupt)
        #expect(throws: RPCError.self) { try decoder.next() }
        var identity = GRPCFrameDecoder(maxMessageBytes: 1024, encoding: nil)
        identity.append(corrupt)
        let error = #expect(throws: RPCError.self) { try identity.next() }
        #expect(error?.code == .internal)
    }

    @Test func hugeLengthPrefixFailsBeforeBuffering() throws {
        var frame = ByteBuffer()
        frame.writeInteger(UInt8(0))
        frame.writeInteger(UInt32.max)
        frame.writeBytes([UInt8](repeating: 7, count: 10))
        var decoder = GRPCFrameDecoder(maxMessageBytes: 4 << 20)
        decoder.append(frame)
        let error = #expect(throws: RPCError.self) { try decoder.next() }
        #expect(error?.code == .resourceExhausted)
    }
}

/// Handlers run on their connection's event loop (issue 4, item 7): a call that never suspends
/// on anything else costs no hop to Swift's global executor.
@Suite struct GRPCExecutorTests {
    @Test func handlersRunOnTheConnectionsEventLoop() async throws {
        let method = MethodDescriptor(service: "execbox.test.Probe", method: "WhereAmI", kind: .unary)
        var router = RPCRouter()
        router.register(method) { requests, responses, _ in
            for try await _ in requests {}
            let onLoop = MultiThreadedEventLoopGroup.currentEventLoop != nil
            try await responses.write(Array((onLoop ? "event-loop" : "elsewhere").utf8))
        }
        let grpc = GRPCServer(router: router)
        let server = try await HTTP2Server.bind(host: "127.0.0.1", port: 0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run(handler: grpc.handler) }
            let transport = try await GRPCClientTransport.connect(host: "127.0.0.1", port: server.localAddress.port!)
            let answer = try await transport.call(method, metadata: [], options: CallOptions()) { outbound, inbound in
                try await outbound.messages.write([])
                try await outbound.finish()
                var iterator = inbound.messages.makeAsyncIterator()
                return try await iterator.next().map { String(decoding: $0, as: UTF8.self) }
            }
            #expect(answer == "event-loop")
            try await transport.connection.close()
            group.cancelAll()
        }
    }
}
