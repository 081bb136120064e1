/// Limit fields to change; nil keeps a field. `monthlyCostLimitCents: .some(nil)` removes the budget.
public struct AccountLimitsUpdate: Hashable, Sendable {
    public var dailyRequestsLimit: Int?
    public var concurrentRequestsLimit: Int?
    public var monthlyCostLimitCents: Int??
    public var alertThreshold: Int?
    public var billingEmail: String?
    public var timezone: String?

    public init(
        dailyRequestsLimit: Int? = nil,
        concurrentRequestsLimit: Int? = nil,
        monthlyCostLimitCents: Int?? = nil,
        alertThreshold: Int? = nil,
        billingEmail: String? = nil,
        timezone: String? = nil
    ) {
        self.dailyRequestsLimit = dailyRequestsLimit
        self.concurrentRequestsLimit = concurrentRequestsLimit
        self.monthlyCostLimitCents = monthlyCostLimitCents
        self.alertThreshold = alertThreshold
        self.billingEmail = billingEmail
        self.timezone = timezone
    }
}
