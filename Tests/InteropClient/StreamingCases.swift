import ExecboxGRPC
import ExecboxInterop
import ExecboxRPC
import ExecboxWire

/// The streaming cases of interop-test-descriptions.md: sizes, counts and order are exact.
enum StreamingCases {
    static let requestSizes = [27_182, 8, 1_828, 45_904]
    static let responseSizes: [Int32] = [31_415, 9, 2_653, 58_979]

    static func clientStreaming(_ context: InteropContext) async throws {
        let response = try await context.client.streamingInputCall { requests in
            for size in requestSizes {
                try await requests.write(.with { $0.payload = InteropContext.zeros(size) })
            }
        }
        try expect(
            response.aggregatedPayloadSize == 74_922,
            "client_streaming: aggregated_payload_size \(response.aggregatedPayloadSize), expected 74922")
    }

    /// The probe (an uncompressed message that expects compression) must fail INVALID_ARGUMENT;
    /// then a call with gzip sends 27182 bytes compressed and 45904 bytes uncompressed (the
    /// per-message switch of `RPCOutbound`), each saying so in `expect_compressed`.
    static func clientCompressedStreaming(_ context: InteropContext) async throws {
        try await expectStatus(.invalidArgument, "client_compressed_streaming probe (uncompressed)") {
            _ = try await context.client.streamingInputCall { requests in
                try await requests.write(
                    .with {
                        $0.expectCompressed = InteropContext.bool(true)
                        $0.payload = InteropContext.zeros(27_182)
                    })
            }
        }
        let response = try await context.transport.call(
            Grpc_Testing_TestServiceMethods.streamingInputCall,
            metadata: [],
            options: CallOptions(compression: .gzip)
        ) { outbound, inbound in
            for (size, compressed) in [(27_182, true), (45_904, false)] {
                outbound.setMessageCompression(compressed)
                let request = Grpc_Testing_StreamingInputCallRequest.with {
                    $0.expectCompressed = InteropContext.bool(compressed)
                    $0.payload = InteropContext.zeros(size)
                }
                try await outbound.messages.write(request.serializedBytes())
            }
            try await outbound.finish()
            return try await RPCCodec.single(Grpc_Testing_StreamingInputCallResponse.self, from: inbound.messages)
        }
        try expect(
            response.aggregatedPayloadSize == 73_086,
            "client_compressed_streaming: aggregated_payload_size \(response.aggregatedPayloadSize), expected 73086")
    }

    static func serverStreaming(_ context: InteropContext) async throws {
        let bodies = try await context.client.streamingOutputCall(InteropContext.responses(responseSizes)) {
            try await collect($0)
        }
        try expectSizes(bodies, responseSizes, "server_streaming")
    }

    /// Flags per message (read below the generated client), then the sizes through it.
    static func serverCompressedStreaming(_ context: InteropContext) async throws {
        let request = Grpc_Testing_StreamingOutputCallRequest.with {
            $0.responseParameters = [
                .with {
                    $0.size = 31_415
                    $0.compressed = InteropContext.bool(true)
                },
                .with {
                    $0.size = 92_653
                    $0.compressed = InteropContext.bool(false)
                },
            ]
        }
        let flags = try await ResponseFlags.read(
            context.transport.connection,
            Grpc_Testing_TestServiceMethods.streamingOutputCall,
            request: request.serializedBytes()
        )
        try expect(
            flags == [true, false], "server_compressed_streaming: compressed flags \(flags), expected [true, false]")
        let bodies = try await context.client.streamingOutputCall(request) { try await collect($0) }
        try expectSizes(bodies, [31_415, 92_653], "server_compressed_streaming")
    }

    /// Each request is sent only after the previous response arrived.
    static func pingPong(_ context: InteropContext) async throws {
        try await context.transport.call(
            Grpc_Testing_TestServiceMethods.fullDuplexCall,
            metadata: [],
            options: CallOptions()
        ) { outbound, inbound in
            var responses = inbound.messages.makeAsyncIterator()
            for (index, (responseSize, requestSize)) in zip(responseSizes, requestSizes).enumerated() {
                let request = Grpc_Testing_StreamingOutputCallRequest.with {
                    $0.responseParameters = [.with { $0.size = responseSize }]
                    $0.payload = InteropContext.zeros(requestSize)
                }
                try await outbound.messages.write(request.serializedBytes())
                guard let bytes = try await responses.next() else {
                    throw InteropFailure("ping_pong: the call ended after \(index) responses, expected 4")
                }
                let response = try RPCCodec.decode(Grpc_Testing_StreamingOutputCallResponse.self, bytes)
                try expectZeros(response.payload?.body, size: Int(responseSize), "ping_pong response \(index + 1)")
            }
            try await outbound.finish()
            try expect(try await responses.next() == nil, "ping_pong: more than 4 responses")
        }
    }

    static func emptyStream(_ context: InteropContext) async throws {
        let count = try await context.client.fullDuplexCall { _ in
        } onResponse: { responses in
            var count = 0
            for try await _ in responses { count += 1 }
            return count
        }
        try expect(count == 0, "empty_stream: \(count) responses, expected none")
    }

    private static func collect(
        _ responses: RPCAsyncSequence<Grpc_Testing_StreamingOutputCallResponse>
    ) async throws -> [[UInt8]] {
        var bodies: [[UInt8]] = []
        for try await response in responses { bodies.append(response.payload?.body ?? []) }
        return bodies
    }

    private static func expectSizes(_ bodies: [[UInt8]], _ sizes: [Int32], _ what: String) throws {
        try expect(
            bodies.map(\.count) == sizes.map(Int.init),
            "\(what): response sizes \(bodies.map(\.count)), expected \(sizes) in that order")
        for (index, body) in bodies.enumerated() {
            try expectZeros(body, size: body.count, "\(what) response \(index + 1)")
        }
    }
}
