import ExecboxRPC
import Foundation

/// Request checks shared by the handlers; each failure is INVALID_ARGUMENT with the legacy text
/// where there is one.
enum Validation {
    static func invalid(_ message: String) -> RPCError {
        RPCError(code: .invalidArgument, message: message)
    }

    /// A key id as stored: a UUID in lower case.
    static func keyID(_ text: String) throws -> String {
        guard UUID(uuidString: text) != nil else { throw invalid("invalid API key ID format") }
        return text.lowercased()
    }

    /// At most 254 bytes, one `@` with something on both sides, a dot in the domain, no spaces or
    /// control characters. Deliberately loose: the address is only ever used to contact the owner.
    static func email(_ text: String, field: String = "email") throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty,
            parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            trimmed.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F })
        else { throw invalid("\(field) must be a valid email address of at most 254 bytes") }
        return trimmed
    }

    static func text(_ text: String, field: String, maxBytes: Int, required: Bool = false) throws -> String {
        if required && text.isEmpty { throw invalid("\(field) is required") }
        guard text.utf8.count <= maxBytes else { throw invalid("\(field) must be \(maxBytes) characters or less") }
        return text
    }

    /// At most 16 unique tags, each 1...64 bytes of `[A-Za-z0-9._:-]`.
    static func tags(_ tags: [String]) throws -> [String] {
        guard tags.count <= 16 else { throw invalid("at most 16 tags") }
        guard Set(tags).count == tags.count else { throw invalid("tags must be unique") }
        for tag in tags {
            guard (1...64).contains(tag.utf8.count),
                tag.utf8.allSatisfy({ byte in
                    (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                        || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":")
                        || byte == UInt8(ascii: "-")
                })
            else { throw invalid("tag '\(tag.prefix(64))' must be 1 to 64 characters of A-Z a-z 0-9 . _ : -") }
        }
        return tags
    }
}
