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
    private let compressionSwitch: @Sendable (Bool) -> Void

    public init(
        messages: RPCWriter<[UInt8]>,
        finish: @escaping @Sendable () async throws -> Void,
        setMessageCompression: @escaping @Sendable (Bool) -> Void = { _ in }
    ) {
        self.messages = messages
        self.finishSending = finish
        self.compressionSwitch = setMessageCompression
    }

    /// With `CallOptions.compression` set, whether the messages written from now on are
    /// compressed (the default) or sent plain; the call's `grpc-encoding` stays what it was.
    /// Without it, nothing is compressed either way.
    public func setMessageCompression(_ enabled: Bool) {
        compressionSwitch(enabled)
    }

    /// Half-closes the call: the server sees the end of its request stream.
    public func finish() async throws {
        try await finishSending()
    }
}

/// What the server sends back: its response metadata and encoded messages, ending normally on
/// an OK status.
public struct RPCInbound: Sendable {
    public let messages: RPCAsyncSequence<[UInt8]>
    private let initial: @Sendable () async throws -> Metadata
    private let trailing: @Sendable () -> Metadata

    public init(
        messages: RPCAsyncSequence<[UInt8]>,
        initialMetadata: @escaping @Sendable () async throws -> Metadata = { Metadata() },
        trailingMetadata: @escaping @Sendable () -> Metadata = { Metadata() }
    ) {
        self.messages = messages
        self.initial = initialMetadata
        self.trailing = trailingMetadata
    }

    /// The metadata of the response headers; waits for them to arrive.
    public func initialMetadata() async throws -> Metadata {
        try await initial()
    }

    /// The metadata sent with the status; complete once `messages` has ended (normally or not).
    public var trailingMetadata: Metadata { trailing() }
}
