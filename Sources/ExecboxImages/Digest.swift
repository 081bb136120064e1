/// A content digest, `sha256:<64 lowercase hex>`, the only algorithm accepted. Digests name blobs
/// and layers on disk, so parsing is strict: nothing but those 71 characters passes, and `hex` is
/// always safe as a file name.
public struct Digest: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let algorithm: String
    /// 64 lowercase hexadecimal digits.
    public let hex: String

    public init(parsing text: String) throws(ImageFormatError) {
        let bytes = Array(text.utf8)
        guard bytes.count == 71, bytes.starts(with: "sha256:".utf8),
            bytes.dropFirst(7).allSatisfy(Self.isLowercaseHex)
        else {
            throw ImageFormatError(
                "\(ImageFormatError.quoted(text)) is not a digest (sha256: and 64 lowercase hex digits)")
        }
        algorithm = "sha256"
        hex = String(text.dropFirst(7))
    }

    /// The digest of 32 SHA-256 bytes.
    public init(sha256 bytes: some Collection<UInt8>) {
        precondition(bytes.count == 32, "a SHA-256 digest is 32 bytes")
        algorithm = "sha256"
        hex = Self.hex(bytes)
    }

    /// The SHA-256 digest of `bytes` (for a whole blob in memory; `DigestHasher` for streams).
    public static func sha256(_ bytes: some Collection<UInt8>) -> Digest {
        var hasher = DigestHasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    public var description: String { "\(algorithm):\(hex)" }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        do {
            try self.init(parsing: try container.decode(String.self))
        } catch let error as ImageFormatError {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    static func isLowercaseHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
