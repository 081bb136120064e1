public import Foundation

/// An API key as stored: never the secret, only its hash, lookup prefix and masked preview.
public struct APIKeyRecord: Hashable, Sendable {
    public var id: String
    public var accountID: String
    /// The key that created this one; nil for primary keys.
    public var parentKeyID: String?
    public var isPrimary: Bool
    public var secretHash: APIKeyHash
    public var lookupPrefix: String
    public var preview: String
    public var name: String
    public var description: String
    public var tags: [String]
    public var rateLimitRPS: Int
    /// False once revoked; an expired key stays active but cannot authenticate.
    public var isActive: Bool
    public var expiresAt: Date?
    public var customDailyLimit: Int?
    public var customConcurrentLimit: Int?
    public var createdAt: Date
    public var updatedAt: Date
    public var lastUsedAt: Date?
    /// Id of the key that made the last change, or `system: <reason>`.
    public var lastUpdatedBy: String
    public var revokedAt: Date?
    public var revokeReason: String
    /// During a rotation grace period: the previous secret's hash and when it stops working.
    public var previousSecretHash: APIKeyHash?
    public var previousSecretExpiresAt: Date?

    /// A new key for `secret`, with the hash, prefix and preview derived from it.
    public init(
        id: String,
        accountID: String,
        parentKeyID: String?,
        secret: String,
        name: String = "",
        description: String = "",
        tags: [String] = [],
        rateLimitRPS: Int = 10,
        expiresAt: Date? = nil,
        customDailyLimit: Int? = nil,
        customConcurrentLimit: Int? = nil,
        createdAt: Date,
        createdBy: String
    ) {
        self.id = id
        self.accountID = accountID
        self.parentKeyID = parentKeyID
        self.isPrimary = parentKeyID == nil
        self.secretHash = APIKeyHash(secret: secret)
        self.lookupPrefix = APIKeySecret.lookupPrefix(of: secret)
        self.preview = APIKeySecret.preview(of: secret)
        self.name = name
        self.description = description
        self.tags = tags
        self.rateLimitRPS = rateLimitRPS
        self.isActive = true
        self.expiresAt = expiresAt
        self.customDailyLimit = customDailyLimit
        self.customConcurrentLimit = customConcurrentLimit
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.lastUsedAt = nil
        self.lastUpdatedBy = createdBy
        self.revokedAt = nil
        self.revokeReason = ""
        self.previousSecretHash = nil
        self.previousSecretExpiresAt = nil
    }

    /// A key read back from storage; the decoder sets the remaining fields.
    package init(id: String, accountID: String, secretHash: APIKeyHash, createdAt: Date) {
        self.id = id
        self.accountID = accountID
        self.parentKeyID = nil
        self.isPrimary = false
        self.secretHash = secretHash
        self.lookupPrefix = ""
        self.preview = ""
        self.name = ""
        self.description = ""
        self.tags = []
        self.rateLimitRPS = 10
        self.isActive = true
        self.expiresAt = nil
        self.customDailyLimit = nil
        self.customConcurrentLimit = nil
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.lastUsedAt = nil
        self.lastUpdatedBy = ""
        self.revokedAt = nil
        self.revokeReason = ""
        self.previousSecretHash = nil
        self.previousSecretExpiresAt = nil
    }

    /// Whether the key may authenticate a call at `now`.
    public func canAuthenticate(at now: Date) -> Bool {
        isActive && (expiresAt.map { $0 > now } ?? true)
    }
}
