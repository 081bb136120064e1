public import Foundation

/// Limits and budget set for an account; -1 means unlimited.
public struct AccountLimits: Hashable, Sendable {
    public var accountID: String
    public var dailyRequestsLimit: Int
    public var concurrentRequestsLimit: Int
    public var monthlyCostLimitCents: Int?
    /// Percentage, 1...100.
    public var alertThreshold: Int
    public var billingEmail: String
    public var timezone: String
    public var updatedAt: Date

    public init(
        accountID: String,
        dailyRequestsLimit: Int = -1,
        concurrentRequestsLimit: Int = -1,
        monthlyCostLimitCents: Int? = nil,
        alertThreshold: Int = 80,
        billingEmail: String = "",
        timezone: String = "UTC",
        updatedAt: Date
    ) {
        self.accountID = accountID
        self.dailyRequestsLimit = dailyRequestsLimit
        self.concurrentRequestsLimit = concurrentRequestsLimit
        self.monthlyCostLimitCents = monthlyCostLimitCents
        self.alertThreshold = alertThreshold
        self.billingEmail = billingEmail
        self.timezone = timezone
        self.updatedAt = updatedAt
    }
}
