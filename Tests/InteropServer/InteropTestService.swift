import ExecboxInterop
import ExecboxRPC
import ExecboxWire

/// gRPC's interop TestService as interop-test-descriptions.md specifies the server: payloads of
/// zeros of the sizes asked for, the status asked for, per-message response compression, and
/// INVALID_ARGUMENT when a request's compression is not what `expect_compressed` says.
struct InteropTestService: Grpc_Testing_TestServiceProtocol {
    /// Larger response payloads are refused; room enough to test a client's 4 MiB limit.
    static let maxResponseSize = 16 << 20

    func emptyCall(request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        Grpc_Testing_Empty()
    }

    func unaryCall(
        request: Grpc_Testing_SimpleRequest,
        context: ServerContext
    ) async throws -> Grpc_Testing_SimpleResponse {
        try Self.checkCompression(expected: request.expectCompressed, context: context)
        if let status = request.responseStatus, status.code != 0 { throw Self.error(status) }
        if let compressed = request.responseCompressed {
            context.call.compressResponses(with: compressed.value ? Self.algorithm(context) : nil)
        }
        let payload = try Self.payload(size: request.responseSize)
        return .with {
            $0.payload = payload
            if request.fillServerId { $0.serverId = "execbox-interop-server" }
        }
    }

    func cacheableUnaryCall(
        request: Grpc_Testing_SimpleRequest,
        context: ServerContext
    ) async throws -> Grpc_Testing_SimpleResponse {
        try await unaryCall(request: request, context: context)
    }

    func streamingOutputCall(
        request: Grpc_Testing_StreamingOutputCallRequest,
        responses: RPCWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        try await Self.respond(to: request, with: responses, context: context)
    }

    func streamingInputCall(
        requests: RPCAsyncSequence<Grpc_Testing_StreamingInputCallRequest>,
        context: ServerContext
    ) async throws -> Grpc_Testing_StreamingInputCallResponse {
        var total = 0
        for try await request in requests {
            // Checked message by message: the flag is the one of the message just read.
            try Self.checkCompression(expected: request.expectCompressed, context: context)
            total += request.payload?.body.count ?? 0
        }
        let aggregated = Int32(clamping: total)
        return .with { $0.aggregatedPayloadSize = aggregated }
    }

    func fullDuplexCall(
        requests: RPCAsyncSequence<Grpc_Testing_StreamingOutputCallRequest>,
        responses: RPCWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        for try await request in requests {
            try await Self.respond(to: request, with: responses, context: context)
        }
    }

    func halfDuplexCall(
        requests: RPCAsyncSequence<Grpc_Testing_StreamingOutputCallRequest>,
        responses: RPCWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        var received: [Grpc_Testing_StreamingOutputCallRequest] = []
        for try await request in requests { received.append(request) }
        for request in received {
            try await Self.respond(to: request, with: responses, context: context)
        }
    }

    /// Declared by test.proto but never implemented by interop servers: the unimplemented_method
    /// case expects UNIMPLEMENTED.
    func unimplementedCall(request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        throw RPCError(code: .unimplemented, message: "grpc.testing.TestService/UnimplementedCall is not implemented")
    }

    // MARK: Shared by the methods

    /// One response per ResponseParameters entry, in order, each after its interval and
    /// compressed as asked; then the status the request asks for, if any.
    private static func respond(
        to request: Grpc_Testing_StreamingOutputCallRequest,
        with responses: RPCWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        for parameters in request.responseParameters {
            if parameters.intervalUs > 0 { try await Task.sleep(for: .microseconds(parameters.intervalUs)) }
            let payload = try payload(size: parameters.size)
            context.call.compressResponses(with: parameters.compressed?.value == true ? algorithm(context) : nil)
            try await responses.write(.with { $0.payload = payload })
        }
        if let status = request.responseStatus, status.code != 0 { throw error(status) }
    }

    /// INVALID_ARGUMENT when the message just read was (not) compressed against the request's
    /// expectation; no check when the field is unset.
    private static func checkCompression(expected: Grpc_Testing_BoolValue?, context: ServerContext) throws {
        guard let expected else { return }
        let compressed = context.call.lastRequestMessageWasCompressed
        guard compressed == expected.value else {
            throw RPCError(
                code: .invalidArgument,
                message: expected.value
                    ? "expected a compressed request message, got an uncompressed one"
                    : "expected an uncompressed request message, got a compressed one"
            )
        }
    }

    /// The client's own request encoding when it has one, else gzip (every gRPC client accepts it).
    private static func algorithm(_ context: ServerContext) -> CompressionAlgorithm {
        context.call.requestEncoding ?? .gzip
    }

    private static func payload(size: Int32) throws -> Grpc_Testing_Payload {
        guard size >= 0, size <= maxResponseSize else {
            throw RPCError(code: .invalidArgument, message: "response size \(size) is outside 0...\(maxResponseSize)")
        }
        return .with { $0.body = [UInt8](repeating: 0, count: Int(size)) }
    }

    private static func error(_ status: Grpc_Testing_EchoStatus) -> RPCError {
        RPCError(code: RPCError.Code(rawValue: Int(status.code)), message: status.message)
    }
}
