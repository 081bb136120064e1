public import ExecboxAPI
public import ExecboxRPC
import ExecboxStorage
import ExecboxWire
import Foundation

extension AccountService {
    public func getLimits(request: GetLimitsRequest, context: ServerContext) async throws -> GetLimitsResponse {
        let principal = try Principal.required()
        let limits = try await store.accountLimits(accountID: principal.accountID)
        return GetLimitsResponse.with { $0.limits = apiLimits(limits, principal) }
    }

    public func updateLimits(request: UpdateLimitsRequest, context: ServerContext) async throws
        -> UpdateLimitsResponse
    {
        let principal = try Principal.required()
        var update = AccountLimitsUpdate()
        update.dailyRequestsLimit = try request.dailyRequestsLimit.map { try sessionLimit($0, "daily_requests_limit") }
        update.concurrentRequestsLimit = try request.concurrentRequestsLimit.map {
            try sessionLimit($0, "concurrent_requests_limit")
        }
        if let cents = request.monthlyCostLimitCents {
            guard cents >= 0 else { throw Validation.invalid("monthly_cost_limit_cents must not be negative") }
            update.monthlyCostLimitCents = .some(cents == 0 ? nil : Int(cents))
        }
        if let threshold = request.alertThreshold {
            guard (1...100).contains(threshold) else { throw Validation.invalid("alert_threshold must be 1 to 100") }
            update.alertThreshold = Int(threshold)
        }
        if let email = request.billingEmail {
            update.billingEmail = email.isEmpty ? "" : try Validation.email(email, field: "billing_email")
        }
        if let zone = request.timezone {
            guard TimeZone(identifier: zone) != nil else {
                throw Validation.invalid("timezone must be an IANA time zone such as UTC or America/New_York")
            }
            update.timezone = zone
        }
        let limits: ExecboxStorage.AccountLimits?
        if update == AccountLimitsUpdate() {
            limits = try await store.accountLimits(accountID: principal.accountID)
        } else {
            limits = try await store.updateAccountLimits(
                accountID: principal.accountID, update, audit: audit(principal, at: now()))
        }
        return UpdateLimitsResponse.with { $0.limits = apiLimits(limits, principal) }
    }

    /// -1 or at least 1.
    func sessionLimit(_ value: Int64, _ field: String) throws -> Int {
        guard value == -1 || value >= 1, value <= Int64(Int32.max) else {
            throw Validation.invalid("\(field) must be -1 (unlimited) or at least 1")
        }
        return Int(value)
    }

    /// The account's daily and concurrent limits after the tier's: the smaller of the two.
    func effectiveAccountLimits(_ principal: Principal) async throws -> (daily: Int, concurrent: Int) {
        let limits = try await store.accountLimits(accountID: principal.accountID)
        let policy = policy(principal)
        return (
            EffectiveLimits.combine(limits?.dailyRequestsLimit, policy.dailySessions),
            EffectiveLimits.combine(limits?.concurrentRequestsLimit, policy.concurrentSessions)
        )
    }

    /// The stored limits with the effective ones; without a stored row (never for accounts made
    /// by this server), the tier's numbers as in the legacy fallback.
    func apiLimits(_ limits: ExecboxStorage.AccountLimits?, _ principal: Principal) -> ExecboxAPI.AccountLimits {
        let policy = policy(principal)
        return ExecboxAPI.AccountLimits.with {
            $0.dailyRequestsLimit = Int64(limits?.dailyRequestsLimit ?? policy.dailySessions)
            $0.concurrentRequestsLimit = Int64(limits?.concurrentRequestsLimit ?? policy.concurrentSessions)
            $0.monthlyCostLimitCents = limits?.monthlyCostLimitCents.map(Int64.init)
            $0.alertThreshold = UInt32(limits?.alertThreshold ?? 80)
            $0.billingEmail = limits?.billingEmail ?? ""
            $0.timezone = limits?.timezone ?? "UTC"
            $0.updatedAt = Timestamps.make(limits?.updatedAt)
            $0.effectiveDailyLimit = Int64(EffectiveLimits.combine(limits?.dailyRequestsLimit, policy.dailySessions))
            $0.effectiveConcurrentLimit = Int64(
                EffectiveLimits.combine(limits?.concurrentRequestsLimit, policy.concurrentSessions))
            $0.tierLimits = APIMapping.tierLimits(principal.tier, policy)
        }
    }
}
