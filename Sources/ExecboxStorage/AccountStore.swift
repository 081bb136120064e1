public import Foundation

/// Accounts and sign-ups.
public protocol AccountStore: Sendable {
    /// Creates an account with its primary key and limits (and the waitlist entry that asked for
    /// it), plus an `account_created` audit event, in one transaction. With `uniqueEmail`, a
    /// second account for the same email (case-insensitive) fails with `.alreadyExists`.
    func createAccount(
        _ account: Account,
        primaryKey: APIKeyRecord,
        limits: AccountLimits,
        waitlist: WaitlistEntry?,
        uniqueEmail: Bool,
        audit: AuditContext
    ) async throws -> Account

    func account(id: String) async throws -> Account?

    /// Changes the tier and records a `tier_changed` audit event.
    func updateTier(accountID: String, tier: Tier, expiresAt: Date?, audit: AuditContext) async throws -> Account
}
