import Crypto
import Foundation

/// The key that encrypts secrets at rest (session environment values, webhook signing secrets).
/// Either operator-provided (32 bytes, base64) or kept in a file in the data directory, created
/// on first use with mode 0600.
public struct StorageKey: Sendable {
    /// Kept as bytes: `SymmetricKey` is not `Sendable`.
    private let bytes: [UInt8]
    /// First 4 bytes of SHA-256 of the key: stored with every ciphertext so that a wrong key is
    /// reported as such rather than as corrupt data.
    package let keyID: [UInt8]

    public init(bytes: [UInt8]) throws {
        guard bytes.count == 32 else {
            throw StorageError(code: .configuration, message: "a storage key must be 32 bytes")
        }
        self.bytes = bytes
        keyID = Array(SHA256.hash(data: bytes).prefix(4))
    }

    /// A key given as base64 (for example from an environment variable or a secret manager).
    public init(base64: String) throws {
        guard let data = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw StorageError(code: .configuration, message: "the storage key is not valid base64")
        }
        try self.init(bytes: Array(data))
    }

    /// A fresh random key (tests, first start).
    public static func random() -> StorageKey {
        var generator = SystemRandomNumberGenerator()
        // Force-try: 32 bytes is always a valid length.
        return try! StorageKey(bytes: (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// Reads the base64 key in `path`, creating it (0600, fsynced) when it does not exist.
    public static func loadOrCreate(at path: String) throws -> StorageKey {
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            return try StorageKey(base64: text)
        }
        let key = StorageKey.random()
        try KeyFile.createExclusively(at: path, contents: key.base64 + "\n")
        // Another process may have won the race; whatever is on disk now is the key.
        return try StorageKey(base64: String(contentsOfFile: path, encoding: .utf8))
    }

    var key: SymmetricKey { SymmetricKey(data: bytes) }

    package var base64: String { Data(bytes).base64EncodedString() }
}
