public import ExecboxAPI
public import ExecboxRPC
public import ExecboxStorage
import ExecboxWire
public import Foundation

/// `execbox.v1.AccountService` over an ``ExecboxStore``: keys, limits, usage, the audit log,
/// quota requests and sign-up. Every call acts for ``Principal/current`` (bound by
/// ``AuthInterceptor``), and every lookup is scoped to its account, so another account's ids
/// answer NOT_FOUND exactly like missing ones. Storage failures become statuses in
/// ``ServiceErrors`` (through ``RequestInterceptor``).
public struct AccountService: AccountServiceProtocol {
    public let store: any ExecboxStore
    public let tiers: TierTable
    public let now: @Sendable () -> Date

    /// Active keys an account may have.
    static let maximumActiveKeys = 100

    public init(store: any ExecboxStore, tiers: TierTable, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.tiers = tiers
        self.now = now
    }

    var administration: AccountAdministration {
        AccountAdministration(store: store, tiers: tiers, now: now)
    }

    /// The audit context of a change made by `principal` now.
    func audit(_ principal: Principal?, at date: Date) -> AuditContext {
        AuditContext(
            performedBy: principal?.keyID ?? "anonymous",
            requestID: RequestInfo.current?.requestID ?? "",
            sourceIP: RequestInfo.current?.clientIP ?? "",
            at: date)
    }

    func policy(_ principal: Principal) -> TierPolicy {
        tiers.policy(for: principal.tier)
    }

    func account(of principal: Principal) async throws -> ExecboxStorage.Account {
        // The key authenticated a moment ago, so a missing account is a lost race with a deletion.
        guard let account = try await store.account(id: principal.accountID) else {
            throw AuthInterceptor.unauthenticated
        }
        return account
    }

    /// A key of the caller's account, NOT_FOUND for anything else.
    func key(_ id: String, of principal: Principal) async throws -> APIKeyRecord {
        guard let key = try await store.apiKey(id: try Validation.keyID(id), accountID: principal.accountID) else {
            throw RPCError(code: .notFound, message: "API key not found")
        }
        return key
    }

    public func getAccount(request: GetAccountRequest, context: ServerContext) async throws -> GetAccountResponse {
        let principal = try Principal.required()
        let account = try await account(of: principal)
        let caller = try await key(principal.keyID, of: principal)
        return GetAccountResponse.with {
            $0.account = APIMapping.account(account, tiers: tiers)
            $0.callerKey = APIMapping.apiKey(caller, policy: policy(principal))
        }
    }
}
