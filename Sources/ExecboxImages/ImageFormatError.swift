/// Why an image's metadata was refused: a malformed digest, image reference or OCI JSON document.
/// The message is safe to show to the client (inputs are quoted with escapes and cut short).
public struct ImageFormatError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }

    /// `text` for a message: escaped, quoted, at most 128 bytes.
    static func quoted(_ text: some StringProtocol) -> String {
        let shown = text.utf8.count <= 128 ? String(text) : String(decoding: text.utf8.prefix(128), as: UTF8.self) + "…"
        return String(reflecting: shown)
    }
}
