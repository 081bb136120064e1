/// Why a binary message could not be decoded. Decoding never traps on malformed input.
public enum WireDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The input ended inside a field.
    case truncated
    /// A varint ran past ten bytes.
    case malformedVarint
    /// Field number 0, a number beyond 2^29 − 1, or a reserved wire type.
    case invalidTag(UInt64)
    /// A length prefix larger than the bytes left, or beyond 2 GiB.
    case invalidLength(UInt64)
    /// A string field held bytes that are not UTF-8.
    case invalidUTF8(field: Int)
    /// Nesting deeper than ``WireDecodingOptions/maxDepth``.
    case tooDeep(limit: Int)
    /// Input larger than ``WireDecodingOptions/maxSize``.
    case tooLarge(size: Int, limit: Int)
    /// An end-group tag with no matching start, or a group left open.
    case unbalancedGroup
    /// A packed repeated field whose bytes do not divide into elements.
    case malformedPacked(field: Int)

    public var description: String {
        switch self {
        case .truncated: "message truncated"
        case .malformedVarint: "malformed varint"
        case .invalidTag(let tag): "invalid field tag \(tag)"
        case .invalidLength(let length): "invalid length \(length)"
        case .invalidUTF8(let field): "field \(field) is not valid UTF-8"
        case .tooDeep(let limit): "message nested deeper than \(limit) levels"
        case .tooLarge(let size, let limit): "message of \(size) bytes exceeds the \(limit)-byte limit"
        case .unbalancedGroup: "unbalanced group"
        case .malformedPacked(let field): "malformed packed field \(field)"
        }
    }
}
