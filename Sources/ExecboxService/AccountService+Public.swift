public import ExecboxAPI
public import ExecboxRPC
import ExecboxStorage
import ExecboxWire
import Foundation

extension AccountService {
    static let welcome = "Welcome to execbox! Save your API key - it will only be shown once."
    static let quotaReceived =
        "Your quota request has been submitted. We'll review it and get back to you soon."

    public func joinWaitlist(request: JoinWaitlistRequest, context: ServerContext) async throws
        -> JoinWaitlistResponse
    {
        let email = try Validation.email(request.email)
        let name = try Validation.text(request.name, field: "name", maxBytes: 100)
        let now = now()
        let audit = AuditContext(
            performedBy: "system: waitlist", requestID: RequestInfo.current?.requestID ?? "",
            sourceIP: RequestInfo.current?.clientIP ?? "", at: now)
        let minted = try await administration.createAccount(
            email: email, keyName: name, tier: .free, uniqueEmail: true,
            waitlist: WaitlistEntry(email: email, name: name, sourceIP: audit.sourceIP, createdAt: now), audit: audit)
        return JoinWaitlistResponse.with {
            $0.apiKey = APIMapping.apiKey(minted.key, policy: tiers.policy(for: .free))
            $0.secret = minted.secret
            $0.tier = .free
            $0.message = Self.welcome
        }
    }

    public func requestQuota(request: RequestQuotaRequest, context: ServerContext) async throws
        -> RequestQuotaResponse
    {
        let principal = Principal.current
        let now = now()
        let stored = try await store.createQuotaRequest(
            ExecboxStorage.QuotaRequest(
                email: try Validation.email(request.email),
                name: try Validation.text(request.name, field: "name", maxBytes: 200),
                company: try Validation.text(request.company, field: "company", maxBytes: 200),
                useCase: try Validation.text(request.useCase, field: "use_case", maxBytes: 4000),
                requestedLimits: try Validation.text(
                    request.requestedLimits, field: "requested_limits", maxBytes: 1000),
                budget: try Validation.text(request.budget, field: "budget", maxBytes: 200),
                currentTier: principal?.tier, apiKeyID: principal?.keyID, accountID: principal?.accountID,
                createdAt: now),
            audit: principal.map { audit($0, at: now) })
        return RequestQuotaResponse.with {
            $0.quotaRequest = APIMapping.quotaRequest(stored)
            $0.message = Self.quotaReceived
        }
    }
}
