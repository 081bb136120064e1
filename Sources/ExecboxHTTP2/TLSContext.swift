internal import COpenSSL
import NIOConcurrencyHelpers

/// An OpenSSL `SSL_CTX` built from a ``TLSConfiguration``. `reload()` re-reads the files and
/// swaps the context for new connections; a connection keeps the context it started with (each
/// `SSL` holds a reference to its `SSL_CTX`).
public final class TLSContext: Sendable {
    public let configuration: TLSConfiguration
    let isServer: Bool
    private let current: NIOLockedValueBox<SSLContextBox>

    public init(configuration: TLSConfiguration) throws {
        self.configuration = configuration
        self.isServer = configuration.certificateChainFile != nil
        self.current = NIOLockedValueBox(try SSLContextBox(configuration: configuration))
    }

    /// Re-reads the certificate chain, key and CA files; on failure the old context stays.
    public func reload() throws {
        let fresh = try SSLContextBox(configuration: configuration)
        current.withLockedValue { $0 = fresh }
    }

    /// A new `SSL` for one connection (owned by the caller, freed with `SSL_free`).
    func makeSSL() throws -> OpaquePointer {
        let box = current.withLockedValue { $0 }
        guard let ssl = SSL_new(box.context) else {
            throw HTTP2Error(.tlsConnection, "SSL_new failed: \(openSSLErrors())")
        }
        return ssl
    }
}

/// Drains OpenSSL's error queue of this thread into one line.
func openSSLErrors() -> String {
    var messages: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        messages.append(String(decoding: bytes, as: UTF8.self))
    }
    return messages.isEmpty ? "no OpenSSL error" : messages.joined(separator: "; ")
}
