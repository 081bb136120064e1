import Crypto

/// SHA-256 in lowercase hex, for migration checksums and request digests.
package enum Digest {
    package static func sha256Hex(_ text: String) -> String {
        Hex.encode(SHA256.hash(data: Array(text.utf8)))
    }
}
