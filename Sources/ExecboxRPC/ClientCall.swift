public import ExecboxWire

/// The four call shapes over any ``ClientTransport``; generated clients call these.
public enum ClientCall {
    public static func unary<Request: WireMessage, Response: WireMessage>(
        _ transport: some ClientTransport,
        _ method: MethodDescriptor,
        request: Request,
        metadata: Metadata,
        options: CallOptions
    ) async throws -> Response {
        try await transport.call(method, metadata: metadata, options: options) { outbound, inbound in
            try await send(outbound) { try await outbound.messages.write(request.serializedBytes()) }
            return try await RPCCodec.single(Response.self, from: inbound.messages)
        }
    }

    /// Sends the requests and half-closes. A stream the server closed first ends the sending
    /// quietly: what the server answered (read next) decides the call.
    private static func send(_ outbound: RPCOutbound, _ body: () async throws -> Void) async throws {
        do {
            try await body()
            try await outbound.finish()
        } catch is OutboundClosedError {
            return
        }
    }

    public static func clientStreaming<Request: WireMessage, Response: WireMessage>(
        _ transport: some ClientTransport,
        _ method: MethodDescriptor,
        metadata: Metadata,
        options: CallOptions,
        requests: @escaping @Sendable (RPCWriter<Request>) async throws -> Void
    ) async throws -> Response {
        try await transport.call(method, metadata: metadata, options: options) { outbound, inbound in
            try await send(outbound) { try await requests(RPCCodec.encoding(Request.self, outbound.messages)) }
            return try await RPCCodec.single(Response.self, from: inbound.messages)
        }
    }

    public static func serverStreaming<Request: WireMessage, Response: WireMessage, Result: Sendable>(
        _ transport: some ClientTransport,
        _ method: MethodDescriptor,
        request: Request,
        metadata: Metadata,
        options: CallOptions,
        onResponse: @escaping @Sendable (RPCAsyncSequence<Response>) async throws -> Result
    ) async throws -> Result {
        try await transport.call(method, metadata: metadata, options: options) { outbound, inbound in
            try await send(outbound) { try await outbound.messages.write(request.serializedBytes()) }
            return try await onResponse(RPCCodec.decoding(Response.self, inbound.messages))
        }
    }

    /// Requests are produced concurrently with the responses being consumed; the call ends when
    /// both are done, and a failure on either side cancels the other.
    public static func bidirectionalStreaming<Request: WireMessage, Response: WireMessage, Result: Sendable>(
        _ transport: some ClientTransport,
        _ method: MethodDescriptor,
        metadata: Metadata,
        options: CallOptions,
        requests: @escaping @Sendable (RPCWriter<Request>) async throws -> Void,
        onResponse: @escaping @Sendable (RPCAsyncSequence<Response>) async throws -> Result
    ) async throws -> Result {
        try await transport.call(method, metadata: metadata, options: options) { outbound, inbound in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await send(outbound) { try await requests(RPCCodec.encoding(Request.self, outbound.messages)) }
                }
                let result = try await onResponse(RPCCodec.decoding(Response.self, inbound.messages))
                try await group.waitForAll()
                return result
            }
        }
    }
}
