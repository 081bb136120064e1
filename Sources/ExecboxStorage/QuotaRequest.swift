public import Foundation

/// A request for higher limits (legacy `quota_requests`).
public struct QuotaRequest: Hashable, Sendable {
    public enum Status: String, Hashable, Sendable {
        case pending, contacted, converted, declined
    }

    /// Assigned by the store.
    public var id: Int64?
    public var email: String
    public var name: String
    public var company: String
    public var useCase: String
    public var requestedLimits: String
    public var budget: String
    public var currentTier: Tier?
    public var apiKeyID: String?
    public var accountID: String?
    public var status: Status
    public var createdAt: Date
    public var respondedAt: Date?

    public init(
        id: Int64? = nil,
        email: String,
        name: String = "",
        company: String = "",
        useCase: String = "",
        requestedLimits: String = "",
        budget: String = "",
        currentTier: Tier? = nil,
        apiKeyID: String? = nil,
        accountID: String? = nil,
        status: Status = .pending,
        createdAt: Date,
        respondedAt: Date? = nil
    ) {
        self.id = id
        self.email = email
        self.name = name
        self.company = company
        self.useCase = useCase
        self.requestedLimits = requestedLimits
        self.budget = budget
        self.currentTier = currentTier
        self.apiKeyID = apiKeyID
        self.accountID = accountID
        self.status = status
        self.createdAt = createdAt
        self.respondedAt = respondedAt
    }
}
