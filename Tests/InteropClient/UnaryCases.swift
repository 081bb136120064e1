import ExecboxGRPC
import ExecboxInterop
import ExecboxRPC
import ExecboxWire

/// The unary cases of interop-test-descriptions.md, including their compression variants.
enum UnaryCases {
    static func emptyUnary(_ context: InteropContext) async throws {
        let response = try await context.client.emptyCall(Grpc_Testing_Empty())
        try expect(response.serializedBytes().isEmpty, "empty_unary: the response is not an empty message")
    }

    static func largeUnary(_ context: InteropContext) async throws {
        let response = try await context.client.unaryCall(InteropContext.largeRequest)
        try expectZeros(response.payload?.body, size: 314_159, "large_unary")
    }

    /// The uncompressed probe must fail INVALID_ARGUMENT; compressed, then plainly uncompressed
    /// with `expect_compressed` false, both succeed.
    static func clientCompressedUnary(_ context: InteropContext) async throws {
        var request = InteropContext.largeRequest
        request.expectCompressed = InteropContext.bool(true)
        let probe = request
        try await expectStatus(.invalidArgument, "client_compressed_unary probe (uncompressed)") {
            _ = try await context.client.unaryCall(probe)
        }
        let compressed = try await context.client.unaryCall(request, options: CallOptions(compression: .gzip))
        try expectZeros(compressed.payload?.body, size: 314_159, "client_compressed_unary (compressed)")
        request.expectCompressed = InteropContext.bool(false)
        let plain = try await context.client.unaryCall(request)
        try expectZeros(plain.payload?.body, size: 314_159, "client_compressed_unary (uncompressed)")
    }

    /// The response's compressed flag is read below the generated client (which hides it);
    /// the typed call then checks the decompressed payload.
    static func serverCompressedUnary(_ context: InteropContext) async throws {
        for compressed in [true, false] {
            var request = InteropContext.largeRequest
            request.responseCompressed = InteropContext.bool(compressed)
            let what = "server_compressed_unary (response_compressed \(compressed))"
            let flags = try await ResponseFlags.read(
                context.transport.connection,
                Grpc_Testing_TestServiceMethods.unaryCall,
                request: request.serializedBytes()
            )
            try expect(flags == [compressed], "\(what): expected compressed flags [\(compressed)], got \(flags)")
            let response = try await context.client.unaryCall(request)
            try expectZeros(response.payload?.body, size: 314_159, what)
        }
    }

    static func statusCodeAndMessage(_ context: InteropContext) async throws {
        let status = Grpc_Testing_EchoStatus.with {
            $0.code = 2
            $0.message = "test status message"
        }
        let unary = try await expectStatus(.unknown, "status_code_and_message (unary)") {
            _ = try await context.client.unaryCall(.with { $0.responseStatus = status })
        }
        try expect(
            unary.message == status.message,
            "status_code_and_message (unary): expected message \"\(status.message)\", got \"\(unary.message)\"")
        let duplex = try await expectStatus(.unknown, "status_code_and_message (full duplex)") {
            try await context.client.fullDuplexCall { requests in
                try await requests.write(.with { $0.responseStatus = status })
            } onResponse: { responses in
                for try await _ in responses {}
            }
        }
        try expect(
            duplex.message == status.message,
            "status_code_and_message (full duplex): expected message \"\(status.message)\", got \"\(duplex.message)\"")
    }

    /// Whitespace, a BMP and a non-BMP character must survive grpc-message's percent-encoding.
    static func specialStatusMessage(_ context: InteropContext) async throws {
        let message = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"
        let error = try await expectStatus(.unknown, "special_status_message") {
            _ = try await context.client.unaryCall(
                .with {
                    $0.responseStatus = .with {
                        $0.code = 2
                        $0.message = message
                    }
                })
        }
        try expect(
            Array(error.message.utf8) == Array(message.utf8),
            "special_status_message: the message came back as \(Array(error.message.utf8)), "
                + "expected \(Array(message.utf8))")
    }

    static func unimplementedMethod(_ context: InteropContext) async throws {
        try await expectStatus(.unimplemented, "unimplemented_method") {
            _ = try await context.client.unimplementedCall(Grpc_Testing_Empty())
        }
    }

    static func unimplementedService(_ context: InteropContext) async throws {
        let client = Grpc_Testing_UnimplementedServiceClient(transport: context.transport)
        try await expectStatus(.unimplemented, "unimplemented_service") {
            _ = try await client.unimplementedCall(Grpc_Testing_Empty())
        }
    }
}
