import Crypto

/// Seals and opens secrets stored in the database with ChaCha20-Poly1305. The associated data
/// binds a ciphertext to its row (for example `session-env:<id>`), so one row's sealed value
/// cannot be copied into another. Layout: version byte 1, 4-byte key id, nonce, ciphertext, tag.
public struct SecretBox: Sendable {
    private let key: StorageKey
    private static let version: UInt8 = 1

    public init(key: StorageKey) {
        self.key = key
    }

    public func seal(_ plaintext: [UInt8], context: String) throws -> [UInt8] {
        do {
            let box = try ChaChaPoly.seal(plaintext, using: key.key, authenticating: Array(context.utf8))
            return [Self.version] + key.keyID + Array(box.combined)
        } catch {
            throw StorageError(code: .internal, message: "cannot encrypt a secret", cause: error)
        }
    }

    public func open(_ sealed: [UInt8], context: String) throws -> [UInt8] {
        guard sealed.count > 5, sealed[0] == Self.version else {
            throw StorageError(code: .dataCorrupted, message: "a sealed secret has an unknown format")
        }
        guard Array(sealed[1..<5]) == key.keyID else {
            throw StorageError(code: .dataCorrupted, message: "a sealed secret was written with another storage key")
        }
        do {
            let box = try ChaChaPoly.SealedBox(combined: sealed[5...])
            return Array(try ChaChaPoly.open(box, using: key.key, authenticating: Array(context.utf8)))
        } catch {
            throw StorageError(code: .dataCorrupted, message: "a sealed secret failed authentication", cause: error)
        }
    }
}
