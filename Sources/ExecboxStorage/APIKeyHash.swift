import Crypto

/// SHA-256 of a full API key secret: what the database stores instead of the secret.
public struct APIKeyHash: Hashable, Sendable {
    public let bytes: [UInt8]

    public init(secret: String) {
        bytes = Array(SHA256.hash(data: Array(secret.utf8)))
    }

    /// A hash read back from storage; nil unless it is 32 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == SHA256.byteCount else { return nil }
        self.bytes = bytes
    }
}
