/// A pricing tier. The raw values are the legacy `api_keys.tier` strings.
public enum Tier: String, Hashable, Sendable, Codable, CaseIterable {
    case anonymous, free, starter, pro, enterprise

    /// The legacy rule: an unknown tier string means `free` (CONTRACT.md §5.1).
    public init(legacyValue: String) {
        self = Tier(rawValue: legacyValue) ?? .free
    }
}
