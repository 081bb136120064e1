import Synchronization

/// What a handler or interceptor can change about the response while a call runs: the metadata
/// sent with the response headers and with the status, and response compression. Shared by the
/// transport and the handler (a reference), so changes made during the call reach the wire.
public final class ServerCallState: Sendable {
    private struct State {
        var initialMetadata = Metadata()
        var trailingMetadata = Metadata()
        var responseCompression: CompressionAlgorithm?
        var lastRequestCompressed = false
        var headersSent = false
    }

    private let state = Mutex(State())

    /// The request's `grpc-encoding`: nil when the client sends uncompressed messages.
    public let requestEncoding: CompressionAlgorithm?
    /// The algorithms the client said it accepts (`grpc-accept-encoding`).
    public let acceptedEncodings: Set<CompressionAlgorithm>

    public init(requestEncoding: CompressionAlgorithm? = nil, acceptedEncodings: Set<CompressionAlgorithm> = []) {
        self.requestEncoding = requestEncoding
        self.acceptedEncodings = acceptedEncodings
    }

    /// Metadata sent with the response headers. Entries added after the first response message
    /// (or the status) went out are not sent: set them before writing.
    public func addInitialMetadata(_ key: String, _ value: Metadata.Value) {
        state.withLock { state in state.initialMetadata.add(key, value) }
    }

    /// Metadata sent with the status in the trailers.
    public func addTrailingMetadata(_ key: String, _ value: Metadata.Value) {
        state.withLock { state in state.trailingMetadata.add(key, value) }
    }

    /// Compresses the response messages written from now on with `algorithm`, when the client
    /// accepts it (otherwise they go out uncompressed); nil turns compression off again.
    public func compressResponses(with algorithm: CompressionAlgorithm?) {
        state.withLock { state in state.responseCompression = algorithm }
    }

    /// Whether the request message most recently read arrived compressed.
    public var lastRequestMessageWasCompressed: Bool {
        state.withLock { state in state.lastRequestCompressed }
    }

    // MARK: For transports

    /// Records the compressed flag of the request message about to be handed to the handler.
    public func recordRequestMessage(compressed: Bool) {
        state.withLock { state in state.lastRequestCompressed = compressed }
    }

    /// The initial metadata, marking the headers as sent (later additions are dropped).
    public func takeInitialMetadata() -> Metadata {
        state.withLock { state in
            state.headersSent = true
            return state.initialMetadata
        }
    }

    public var trailingMetadata: Metadata {
        state.withLock { state in state.trailingMetadata }
    }

    /// The algorithm for the next response message: the handler's choice if the client accepts it.
    public var responseCompression: CompressionAlgorithm? {
        state.withLock { state in
            guard let algorithm = state.responseCompression, acceptedEncodings.contains(algorithm) else { return nil }
            return algorithm
        }
    }
}
