public import Foundation

/// Sessions.
public protocol SessionStore: Sendable {
    /// Checks `quota` and inserts `session` in one atomic step: concurrent creates never exceed a
    /// limit. Fails with `.quotaExceeded` (concurrent limits are checked before daily ones).
    /// With an idempotency claim, a repeat with the same digest returns the first session
    /// (`replayed`), another digest fails with `.alreadyExists`. `environment` is encrypted.
    func createSession(
        _ session: SessionRecord,
        environment: [String: String],
        quota: SessionQuota,
        idempotency: IdempotencyClaim?
    ) async throws -> SessionCreation

    /// nil `accountID` reads any account's session (reconciler, backends).
    func session(id: String, accountID: String?) async throws -> SessionRecord?

    /// The decrypted environment of a session.
    func sessionEnvironment(id: String) async throws -> [String: String]

    func listSessions(_ query: SessionQuery) async throws -> Page<SessionRecord>

    /// Applies `change`. With `allowedFrom`, the session must be in one of those states, else
    /// `.failedPrecondition`. A terminal session never returns to an active state. `.deferred`
    /// durability lets the commit return before the disk sync.
    func updateSession(
        id: String,
        accountID: String?,
        allowedFrom: Set<SessionStatus>?,
        _ change: SessionChange,
        durability: CommitDurability
    ) async throws -> SessionRecord

    /// Active sessions and sessions created since `since`, for an account or one of its keys.
    func sessionCounts(accountID: String, apiKeyID: String?, since: Date) async throws -> SessionCounts

    /// Active sessions of every account, for the reconciler, oldest first.
    func activeSessions(page: PageRequest) async throws -> Page<SessionRecord>
}

extension SessionStore {
    /// An update whose commit is on disk when it returns.
    public func updateSession(
        id: String,
        accountID: String?,
        allowedFrom: Set<SessionStatus>?,
        _ change: SessionChange
    ) async throws -> SessionRecord {
        try await updateSession(id: id, accountID: accountID, allowedFrom: allowedFrom, change, durability: .synced)
    }
}
