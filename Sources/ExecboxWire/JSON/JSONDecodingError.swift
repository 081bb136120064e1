/// Why a JSON input could not be decoded. Decoding never traps on malformed input.
///
/// Offsets count bytes from the start of the input. Messages quote at most a short excerpt of
/// the input, since it may come from an untrusted client.
public enum JSONDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The input broke the JSON grammar, or held a different kind of value than the field takes.
    case syntax(offset: Int, expected: String)
    /// The input ended inside a value.
    case unexpectedEnd
    /// A string held bytes that are not UTF-8, or a `\u` escape named a lone surrogate.
    case invalidUTF8(offset: Int)
    /// A well-formed value that the field cannot take: out of range, not integral, bad base64, …
    case invalidValue(String)
    /// A key that names no field of the message, unless ``JSONDecodingOptions/ignoreUnknownFields``.
    case unknownField(String)
    /// An enum name this build does not know, unless ``JSONDecodingOptions/ignoreUnknownFields``.
    case unknownEnumValue(String)
    /// Nesting deeper than ``JSONDecodingOptions/maxDepth``.
    case tooDeep(limit: Int)
    /// Input larger than ``JSONDecodingOptions/maxSize``.
    case tooLarge(size: Int, limit: Int)

    public var description: String {
        switch self {
        case .syntax(let offset, let expected): "invalid JSON at byte \(offset): expected \(expected)"
        case .unexpectedEnd: "JSON input ended unexpectedly"
        case .invalidUTF8(let offset): "invalid UTF-8 in the string at byte \(offset)"
        case .invalidValue(let reason): "invalid JSON value: \(reason)"
        case .unknownField(let key): "unknown field \"\(Self.excerpt(key))\""
        case .unknownEnumValue(let name): "unknown enum value \"\(Self.excerpt(name))\""
        case .tooDeep(let limit): "JSON nested deeper than \(limit) levels"
        case .tooLarge(let size, let limit): "JSON input of \(size) bytes exceeds the \(limit)-byte limit"
        }
    }

    /// Keeps a hostile key from filling logs.
    static func excerpt(_ text: String) -> String {
        text.utf8.count <= 64 ? text : String(text.prefix(64)) + "…"
    }
}
