/// Account limits and budget.
public protocol LimitsStore: Sendable {
    func accountLimits(accountID: String) async throws -> AccountLimits?

    /// Applies the set fields and records a `limits_changed` audit event with old and new values.
    func updateAccountLimits(accountID: String, _ update: AccountLimitsUpdate, audit: AuditContext) async throws
        -> AccountLimits
}
