/// The one error type of ExecboxHTTP2 (HTTP/2 and its TLS): an extensible code, a curated message
/// (no peer data, no key material, no internal paths beyond the files it was told to load), and the
/// underlying cause for logs.
public struct HTTP2Error: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: Code
    public var message: String
    /// For `streamClosed`: the HTTP/2 error code of the peer's RST_STREAM (0 when the stream simply
    /// ended, or the connection went).
    public var resetCode: UInt32?
    /// For logs only; not part of equality.
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, resetCode: UInt32? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.resetCode = resetCode
        self.cause = cause
    }

    public var description: String { message }

    public static func == (lhs: HTTP2Error, rhs: HTTP2Error) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.resetCode == rhs.resetCode
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(resetCode)
    }
}

extension HTTP2Error {
    /// What failed. A struct rather than an enum so that codes can be added without breaking the
    /// switches of the layers above (gRPC maps them to statuses, the CLI to hints).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String

        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        public var description: String { rawValue }

        /// The stream was reset (`resetCode`), or had closed before the call.
        public static let streamClosed = Code(rawValue: "stream closed")
        /// The connection is gone.
        public static let connectionClosed = Code(rawValue: "connection closed")
        /// nghttp2 rejected an operation, or the peer broke the protocol.
        public static let protocolError = Code(rawValue: "protocol error")
        /// The call was used out of order (e.g. body before head).
        public static let invalidState = Code(rawValue: "invalid state")
        /// A certificate, key or CA file could not be read or used.
        public static let tlsConfiguration = Code(rawValue: "TLS configuration")
        /// The TLS handshake failed (protocol, cipher, certificate verification, ALPN, timeout).
        public static let tlsHandshake = Code(rawValue: "TLS handshake")
        /// The TLS connection broke after the handshake.
        public static let tlsConnection = Code(rawValue: "TLS connection")

        /// One of the TLS codes.
        public var isTLS: Bool { self == .tlsConfiguration || self == .tlsHandshake || self == .tlsConnection }
    }
}
