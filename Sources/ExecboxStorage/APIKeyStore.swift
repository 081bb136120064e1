public import Foundation

/// API keys. Every change writes its audit event in the same transaction.
public protocol APIKeyStore: Sendable {
    /// Creates a secondary key. Fails with `.notFound` for an unknown account.
    func createAPIKey(_ key: APIKeyRecord, audit: AuditContext) async throws -> APIKeyRecord

    /// The key whose current secret hashes to `hash`, or whose previous secret does while its
    /// rotation grace period lasts at `now`. Whether it may authenticate is the caller's check
    /// (`canAuthenticate(at:)`).
    func apiKey(secretHash: APIKeyHash, now: Date) async throws -> APIKeyRecord?

    /// ``apiKey(secretHash:now:)`` and the key's account, read in one round trip: what every
    /// authenticated call needs.
    func apiKeyAndAccount(secretHash: APIKeyHash, now: Date) async throws -> (key: APIKeyRecord, account: Account)?

    func apiKey(id: String, accountID: String) async throws -> APIKeyRecord?

    /// The account's keys, oldest first (created_at, then id).
    func listAPIKeys(accountID: String, activeOnly: Bool, now: Date, page: PageRequest) async throws -> Page<
        APIKeyRecord
    >

    func countActiveAPIKeys(accountID: String) async throws -> Int

    /// Fails with `.failedPrecondition` for a revoked key, `.notFound` for another account's.
    func updateAPIKey(id: String, accountID: String, _ update: APIKeyUpdate, audit: AuditContext) async throws
        -> APIKeyRecord

    /// Soft delete. The primary key cannot be revoked (`.failedPrecondition`); revoking a revoked
    /// key changes nothing.
    func revokeAPIKey(id: String, accountID: String, reason: String, audit: AuditContext) async throws -> APIKeyRecord

    /// Replaces the secret; the old one keeps working until `previousValidUntil` (nil: at once).
    func rotateAPIKey(
        id: String,
        accountID: String,
        newSecret: String,
        previousValidUntil: Date?,
        audit: AuditContext
    ) async throws -> APIKeyRecord

    /// Sets `last_used_at` unless it was set less than `minimumInterval` before `at`; returns
    /// whether it wrote.
    func touchAPIKey(id: String, at: Date, minimumInterval: TimeInterval) async throws -> Bool
}
