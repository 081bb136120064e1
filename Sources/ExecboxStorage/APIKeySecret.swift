/// Minting and masking API key secrets (legacy format, CONTRACT.md §2.2).
public enum APIKeySecret {
    /// `sk_` + 64 lowercase hex characters from the system CSPRNG.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return "sk_" + Hex.encode((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// First 7 characters, `...`, last 4 (`sk_a20b...fc3e`); `sk_****` for secrets under 12 characters.
    public static func preview(of secret: String) -> String {
        let characters = Array(secret)
        guard characters.count >= 12 else { return "sk_****" }
        return String(characters.prefix(7)) + "..." + String(characters.suffix(4))
    }

    /// The non-secret head of a key (its first 7 characters), indexed for operator look-ups.
    public static func lookupPrefix(of secret: String) -> String {
        String(secret.prefix(7))
    }
}
