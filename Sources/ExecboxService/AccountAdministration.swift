public import ExecboxStorage
public import Foundation

/// Creating accounts and keys outside a call: sign-up (JoinWaitlist), the bootstrap admin and the
/// `execbox-server admin …` commands. Every change is audited as `system: <what>` unless an
/// audit context is given.
public struct AccountAdministration: Sendable {
    public let store: any ExecboxStore
    public let tiers: TierTable
    public let now: @Sendable () -> Date

    public init(store: any ExecboxStore, tiers: TierTable, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.tiers = tiers
        self.now = now
    }

    /// A key as minted: the stored record and the secret, which exists only here.
    public struct MintedKey: Sendable {
        public var account: Account
        public var key: APIKeyRecord
        public var secret: String
    }

    /// A new account with its primary key and limits that defer to the tier (-1). With
    /// `uniqueEmail`, a second account for the same email fails with ALREADY_EXISTS.
    /// `beforeCommit` sees the secret before the account is stored; if it throws, nothing is.
    public func createAccount(
        id: String = UUID().uuidString.lowercased(),
        email: String,
        keyName: String = "",
        tier: Tier,
        uniqueEmail: Bool,
        waitlist: WaitlistEntry? = nil,
        audit: AuditContext? = nil,
        beforeCommit: (String) throws -> Void = { _ in }
    ) async throws -> MintedKey {
        let now = now()
        let keyID = UUID().uuidString.lowercased()
        let secret = APIKeyFormat.generate(role: .primary, keyID: keyID)
        try beforeCommit(secret)
        let audit = audit ?? AuditContext(performedBy: "system: admin", at: now)
        let key = APIKeyRecord(
            id: keyID, accountID: id, parentKeyID: nil, secret: secret, name: keyName, rateLimitRPS: storedRate(tier),
            createdAt: now, createdBy: audit.performedBy)
        let account = Account(id: id, email: email, tier: tier, createdAt: now, primaryKeyID: keyID)
        let created = try await store.createAccount(
            account, primaryKey: key,
            limits: AccountLimits(accountID: id, dailyRequestsLimit: -1, concurrentRequestsLimit: -1, updatedAt: now),
            waitlist: waitlist, uniqueEmail: uniqueEmail, audit: audit)
        return MintedKey(account: created, key: key, secret: secret)
    }

    /// A secondary key of `accountID`, created on behalf of its primary key.
    public func createKey(
        accountID: String, name: String, description: String = "", expiresAt: Date? = nil,
        audit: AuditContext? = nil
    ) async throws -> MintedKey {
        guard let account = try await store.account(id: accountID) else { throw StorageError.notFound("account") }
        let now = now()
        let keyID = UUID().uuidString.lowercased()
        let secret = APIKeyFormat.generate(role: .secondary, keyID: keyID)
        let audit = audit ?? AuditContext(performedBy: "system: admin", at: now)
        let key = try await store.createAPIKey(
            APIKeyRecord(
                id: keyID, accountID: accountID, parentKeyID: account.primaryKeyID, secret: secret, name: name,
                description: description, rateLimitRPS: storedRate(account.tier), expiresAt: expiresAt,
                createdAt: now, createdBy: audit.performedBy),
            audit: audit)
        return MintedKey(account: account, key: key, secret: secret)
    }

    public func setTier(accountID: String, tier: Tier, expiresAt: Date? = nil) async throws -> Account {
        try await store.updateTier(
            accountID: accountID, tier: tier, expiresAt: expiresAt,
            audit: AuditContext(performedBy: "system: admin", at: now()))
    }

    public func quotaRequests(status: QuotaRequest.Status?, page: PageRequest) async throws -> Page<QuotaRequest> {
        try await store.listQuotaRequests(status: status, page: page)
    }

    public func answerQuotaRequest(id: Int64, status: QuotaRequest.Status) async throws -> QuotaRequest {
        try await store.setQuotaRequestStatus(id: id, status: status, at: now())
    }

    /// The legacy `rate_limit_rps` column of a new key: informational (enforcement reads the tier
    /// table), so the tier's per-key rate, or the legacy default 10 when the tier has none.
    func storedRate(_ tier: Tier) -> Int {
        tiers.policy(for: tier).keyRate.map { max(1, Int($0.perSecond.rounded(.up))) } ?? 10
    }
}
