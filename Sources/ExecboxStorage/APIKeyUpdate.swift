public import Foundation

/// The fields of a key to change; nil leaves a field as it is. For the optional columns,
/// `.some(nil)` clears the value.
public struct APIKeyUpdate: Hashable, Sendable {
    public var name: String?
    public var description: String?
    public var tags: [String]?
    public var expiresAt: Date??
    public var customDailyLimit: Int??
    public var customConcurrentLimit: Int??

    public init(
        name: String? = nil,
        description: String? = nil,
        tags: [String]? = nil,
        expiresAt: Date?? = nil,
        customDailyLimit: Int?? = nil,
        customConcurrentLimit: Int?? = nil
    ) {
        self.name = name
        self.description = description
        self.tags = tags
        self.expiresAt = expiresAt
        self.customDailyLimit = customDailyLimit
        self.customConcurrentLimit = customConcurrentLimit
    }

    public var isEmpty: Bool {
        name == nil && description == nil && tags == nil && expiresAt == nil && customDailyLimit == nil
            && customConcurrentLimit == nil
    }
}
