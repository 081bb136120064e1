/// Names one RPC, as the generator writes it: `/package.Service/Method` on the wire.
public struct MethodDescriptor: Hashable, Sendable, CustomStringConvertible {
    /// The service's full name, such as `execbox.v1.SessionService`.
    public let service: String
    /// The method's name, such as `CreateSession`.
    public let method: String
    public let kind: RPCKind

    public init(service: String, method: String, kind: RPCKind) {
        self.service = service
        self.method = method
        self.kind = kind
    }

    /// The HTTP/2 `:path` of the call.
    public var path: String { "/\(service)/\(method)" }

    public var description: String { path }
}

/// Whether each side sends one message or a stream.
public enum RPCKind: Hashable, Sendable {
    case unary
    case clientStreaming
    case serverStreaming
    case bidirectionalStreaming

    public var clientStreams: Bool { self == .clientStreaming || self == .bidirectionalStreaming }
    public var serverStreams: Bool { self == .serverStreaming || self == .bidirectionalStreaming }
}
