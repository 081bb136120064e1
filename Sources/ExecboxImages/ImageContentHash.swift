import Crypto

/// The content address of an image build request (legacy CONTRACT §8.6, kept so existing
/// `setup_hash` and image-cache rows stay valid): SHA-256 over
/// `base ‖ 00 ‖ (cmd ‖ 00)* ‖ (path ‖ 00 ‖ content ‖ 00)*`, setup commands in request order, files
/// sorted by path byte-wise; contents are the request's strings (base64 is not decoded).
public struct ImageContentHash: Hashable, Sendable, CustomStringConvertible {
    /// The 32-byte SHA-256.
    public let digest: [UInt8]

    public init(baseImage: String, setup: [String], files: [(path: String, content: String)]) {
        var hasher = SHA256()
        func add(_ text: String) {
            var bytes = Array(text.utf8)
            bytes.append(0)
            bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
        add(baseImage)
        for command in setup { add(command) }
        for file in files.sorted(by: { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }) {
            add(file.path)
            add(file.content)
        }
        digest = Array(hasher.finalize())
    }

    /// `sha256:` and the 64 lowercase hex digits: the image id.
    public var id: String { "sha256:" + Digest.hex(digest) }

    /// The first 16 hex digits (8 bytes): the legacy `setup_hash` and Fly image tag.
    public var legacyHash: String { Digest.hex(digest.prefix(8)) }

    public var description: String { id }

    /// `sha256:` and 64 lowercase hex digits.
    public static func isValidID(_ text: String) -> Bool {
        (try? Digest(parsing: text)) != nil
    }

    /// 16 lowercase hex digits.
    public static func isValidLegacyHash(_ text: String) -> Bool {
        text.utf8.count == 16 && text.utf8.allSatisfy(Digest.isLowercaseHex)
    }
}
