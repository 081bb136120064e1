/// A TLS failure: what went wrong, with OpenSSL's error queue (never key material).
public struct TLSError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// A certificate, key or CA file could not be read or used.
        case configuration
        /// The handshake failed (protocol, cipher, certificate verification, timeout).
        case handshake
        /// The connection broke after the handshake.
        case connection
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
