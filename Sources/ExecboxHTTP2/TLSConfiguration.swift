public import NIOCore

/// TLS settings for the listener (certificate and key) or the client (whom to trust). TLS 1.2 and
/// 1.3 only, forward-secret AEAD suites only; nothing here can weaken that.
public struct TLSConfiguration: Sendable, Hashable {
    /// PEM: the leaf certificate first, then intermediates (server only).
    public var certificateChainFile: String?
    /// PEM private key matching the leaf (server only).
    public var privateKeyFile: String?
    /// PEM CA certificates to trust (client only); nil trusts the system's store.
    public var trustRootsFile: String?
    /// Client only, for tests: accept any certificate and any name.
    public var insecureSkipVerify = false
    /// ALPN protocols, most preferred first.
    public var applicationProtocols = ["h2", "http/1.1"]
    /// The handshake must complete within this time.
    public var handshakeTimeout: TimeAmount = .seconds(10)

    public init() {}

    public static func server(certificateChainFile: String, privateKeyFile: String) -> TLSConfiguration {
        var configuration = TLSConfiguration()
        configuration.certificateChainFile = certificateChainFile
        configuration.privateKeyFile = privateKeyFile
        return configuration
    }

    /// A client that verifies the server against `trustRootsFile` (or the system's store) and the
    /// host name it connects to. ALPN offers only h2.
    public static func client(trustRootsFile: String? = nil, insecureSkipVerify: Bool = false) -> TLSConfiguration {
        var configuration = TLSConfiguration()
        configuration.trustRootsFile = trustRootsFile
        configuration.insecureSkipVerify = insecureSkipVerify
        configuration.applicationProtocols = ["h2"]
        return configuration
    }
}
