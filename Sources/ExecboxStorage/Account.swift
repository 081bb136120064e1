public import Foundation

/// An account: the owner of keys, sessions, usage and limits.
public struct Account: Hashable, Sendable {
    /// A UUID; for accounts imported from the legacy service, the id of their primary key.
    public var id: String
    /// Contact email; empty when unknown.
    public var email: String
    public var tier: Tier
    public var tierExpiresAt: Date?
    public var tierUpdatedAt: Date?
    public var createdAt: Date
    public var primaryKeyID: String

    public init(
        id: String,
        email: String,
        tier: Tier,
        tierExpiresAt: Date? = nil,
        tierUpdatedAt: Date? = nil,
        createdAt: Date,
        primaryKeyID: String
    ) {
        self.id = id
        self.email = email
        self.tier = tier
        self.tierExpiresAt = tierExpiresAt
        self.tierUpdatedAt = tierUpdatedAt
        self.createdAt = createdAt
        self.primaryKeyID = primaryKeyID
    }
}
