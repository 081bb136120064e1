/// What a handler knows about the call it serves.
public struct ServerContext: Sendable {
    public let method: MethodDescriptor
    /// The request headers' custom metadata (reserved `grpc-*` and pseudo-headers removed).
    public let metadata: Metadata
    /// The peer's address, for logs.
    public let peer: String
    /// Response metadata and compression, changeable while the call runs.
    public let call: ServerCallState

    public init(method: MethodDescriptor, metadata: Metadata, peer: String, call: ServerCallState = ServerCallState()) {
        self.method = method
        self.metadata = metadata
        self.peer = peer
        self.call = call
    }
}
