/// Execbox API key strings (docs/service.md):
///
///     ebx_<kind>_<id>_<secret><checksum>
///
/// `kind` is `p` (primary) or `s` (secondary); `id` the key's UUID as 32 lowercase hex digits;
/// `secret` 40 base62 characters from the system CSPRNG (238 bits); `checksum` the CRC-32 of
/// everything before it in 6 base62 digits. 85 characters. The prefix and checksum let a secret
/// scanner recognise a leaked key without false positives, and the id names the key to revoke.
/// Legacy `sk_` + 64 hex keys (and hand-made legacy strings) are still accepted.
public enum APIKeyFormat {
    public static let prefix = "ebx_"
    static let secretLength = 40
    static let checksumLength = 6
    /// `ebx_` + kind + `_` + 32 + `_` + secret + checksum.
    public static let length = 4 + 1 + 1 + 32 + 1 + secretLength + checksumLength
    /// Longest token looked up at all; longer ones fail without a database round trip.
    public static let maximumLegacyLength = 256

    /// A new key string for the key `keyID` (a UUID).
    public static func generate(role: KeyRole, keyID: String) -> String {
        let body =
            prefix + String(role.kindLetter) + "_" + compactID(keyID) + "_" + Base62.random(count: secretLength)
        return body + checksum(of: body)
    }

    /// Classifies a bearer token; nil when it cannot be a key (malformed, or an Execbox key whose
    /// checksum does not match).
    public static func parse(_ token: String) -> PresentedKey? {
        guard token.hasPrefix(prefix) else {
            let bytes = token.utf8
            guard !bytes.isEmpty, bytes.count <= maximumLegacyLength, bytes.allSatisfy({ (0x21...0x7E).contains($0) })
            else { return nil }
            return .legacy
        }
        let characters = Array(token)
        guard characters.count == length, let role = KeyRole(kindLetter: characters[4]), characters[5] == "_",
            characters[38] == "_"
        else { return nil }
        let hex = characters[6..<38]
        guard hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        let tail = characters[39...]
        guard tail.allSatisfy(Base62.isDigit) else { return nil }
        let body = String(characters[..<(length - checksumLength)])
        guard checksum(of: body) == String(characters[(length - checksumLength)...]) else { return nil }
        return .execbox(role: role, keyID: uuid(fromCompact: String(hex)))
    }

    static func checksum(of body: String) -> String {
        Base62.encode(CRC32.checksum(body.utf8), width: checksumLength)
    }

    /// A UUID without its dashes, lower case.
    static func compactID(_ id: String) -> String {
        id.lowercased().filter { $0 != "-" }
    }

    /// 32 hex digits back to the 8-4-4-4-12 form.
    static func uuid(fromCompact hex: String) -> String {
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }
}
