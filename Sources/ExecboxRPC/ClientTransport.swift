/// Carries calls as encoded messages; the generated clients sit on top of any conforming type
/// (HTTP/2 in production, in-process in tests).
public protocol ClientTransport: Sendable {
    /// Opens one call and runs `body` with its two directions. The transport ends the call when
    /// `body` returns; a non-OK status from the server surfaces as an ``RPCError`` thrown while
    /// reading `inbound.messages`.
    func call<Result: Sendable>(
        _ method: MethodDescriptor,
        metadata: Metadata,
        options: CallOptions,
        _ body: @Sendable (RPCOutbound, RPCInbound) async throws -> Result
    ) async throws -> Result
}

/// The client's side of a call: encoded messages, then a half-close.
public struct RPCOutbound: Sendable {
    public let messages: RPCWriter<[UInt8]>
    private let finishSending: @Sendable () async throws -> Void

    public init(messages: RPCWriter<[UInt8]>, finish: @escaping @Sendable () async throws -> Void) {
        self.messages = messages
        self.finishSending = finish
    }

    /// Half-closes the call: the server sees the end of its request stream.
    public func finish() async throws {
        try await finishSending()
    }
}

/// What the server sends back: encoded messages, ending normally on an OK status.
public struct RPCInbound: Sendable {
    public let messages: RPCAsyncSequence<[UInt8]>

    public init(messages: RPCAsyncSequence<[UInt8]>) {
        self.messages = messages
    }
}
