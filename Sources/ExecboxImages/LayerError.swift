/// Why a layer (a tar stream, possibly gzip-compressed) was refused: the archive is malformed, an
/// entry breaks a rule of the `LayerPolicy`, a limit is reached, or the format is not supported.
/// The message is safe to show to the image's author; `path` names the entry when there is one.
public struct LayerError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: Code
    public var message: String
    /// The entry's normalized path (or its raw path when it could not be normalized), if any.
    public var path: String?
    /// For logs only (the error a `read` function threw); not part of equality.
    public var cause: (any Error)?

    public init(code: Code, message: String, path: String? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.cause = cause
    }

    /// `layer entry "dev/null": device nodes are not allowed`; the path is quoted with escapes and
    /// cut at 256 bytes, so a hostile name cannot forge log lines.
    public var description: String {
        guard let path else { return "layer: \(message)" }
        let shown = path.utf8.count <= 256 ? path : String(decoding: path.utf8.prefix(256), as: UTF8.self) + "…"
        return "layer entry \(String(reflecting: shown)): \(message)"
    }

    public static func == (lhs: LayerError, rhs: LayerError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.path == rhs.path
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(path)
    }
}

extension LayerError {
    /// What kind of refusal this is. A struct, so codes can be added without breaking switches.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String

        public init(rawValue: String) { self.rawValue = rawValue }

        /// Not a valid tar, gzip or zlib stream (bad checksum, truncated, corrupt).
        public static let malformed = Code(rawValue: "malformed")
        /// An entry the policy refuses (a device, a path under `dev/`, a symlink at a mount point…).
        public static let refused = Code(rawValue: "refused")
        /// A count or size limit of the policy is reached.
        public static let limitExceeded = Code(rawValue: "limit_exceeded")
        /// A valid format this reader does not handle (zstd, sparse files, unknown entry types).
        public static let unsupported = Code(rawValue: "unsupported")
        /// The caller's `read` function threw; `cause` holds its error.
        public static let readFailed = Code(rawValue: "read_failed")

        public var description: String { rawValue }
    }

    static func malformed(_ message: String, path: String? = nil) -> LayerError {
        LayerError(code: .malformed, message: message, path: path)
    }

    static func refused(_ message: String, path: String?) -> LayerError {
        LayerError(code: .refused, message: message, path: path)
    }

    static func limit(_ message: String, path: String? = nil) -> LayerError {
        LayerError(code: .limitExceeded, message: message, path: path)
    }

    static func unsupported(_ message: String, path: String? = nil) -> LayerError {
        LayerError(code: .unsupported, message: message, path: path)
    }
}
