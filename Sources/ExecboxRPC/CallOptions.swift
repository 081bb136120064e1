/// Per-call settings a client may choose.
public struct CallOptions: Sendable, Hashable {
    /// The time the call may take; the server is told through `grpc-timeout`. Nil: no deadline.
    public var timeout: Duration?
    /// Largest response message accepted; larger ones fail the call with RESOURCE_EXHAUSTED.
    public var maxResponseMessageBytes: Int
    /// Compresses the request messages (`grpc-encoding`); nil sends them uncompressed. Responses
    /// are decompressed whatever this says.
    public var compression: CompressionAlgorithm?

    public init(
        timeout: Duration? = nil,
        maxResponseMessageBytes: Int = 4 << 20,
        compression: CompressionAlgorithm? = nil
    ) {
        self.timeout = timeout
        self.maxResponseMessageBytes = maxResponseMessageBytes
        self.compression = compression
    }
}
