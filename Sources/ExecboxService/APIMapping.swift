import ExecboxAPI
import ExecboxStorage
import ExecboxWire
import Foundation

/// Storage values as API messages, and API enums as storage ones.
enum APIMapping {
    static func tier(_ tier: ExecboxStorage.Tier) -> ExecboxAPI.Tier {
        switch tier {
        case .anonymous: .anonymous
        case .free: .free
        case .starter: .starter
        case .pro: .pro
        case .enterprise: .enterprise
        }
    }

    static func tier(_ tier: ExecboxAPI.Tier) -> ExecboxStorage.Tier? {
        switch tier {
        case .anonymous: .anonymous
        case .free: .free
        case .starter: .starter
        case .pro: .pro
        case .enterprise: .enterprise
        default: nil
        }
    }

    static func tierLimits(_ tier: ExecboxStorage.Tier, _ policy: TierPolicy) -> TierLimits {
        TierLimits.with {
            $0.tier = Self.tier(tier)
            $0.dailyLimit = Int64(policy.dailySessions)
            $0.concurrentLimit = Int64(policy.concurrentSessions)
            $0.maxDurationMs = policy.maxDurationSeconds < 0 ? -1 : Int64(policy.maxDurationSeconds) * 1000
            $0.maxMemoryMb = Int64(policy.maxMemoryMB)
            $0.maxCpuMillicores = Int64(policy.maxCPUMillicores)
            $0.rateLimitRps = policy.keyRate.map { Int64($0.perSecond.rounded(.up)) } ?? -1
        }
    }

    /// `rateLimitRPS`: the key's effective per-key rate from its tier (0 when unlimited).
    static func apiKey(_ key: APIKeyRecord, policy: TierPolicy) -> APIKey {
        APIKey.with {
            $0.id = key.id
            $0.name = key.name
            $0.description = key.description
            $0.tags = key.tags
            $0.keyPreview = key.preview
            $0.isActive = key.isActive
            $0.expiresAt = Timestamps.make(key.expiresAt)
            $0.customDailyLimit = key.customDailyLimit.map(Int64.init)
            $0.customConcurrentLimit = key.customConcurrentLimit.map(Int64.init)
            $0.createdAt = Timestamps.make(key.createdAt)
            $0.lastUsedAt = Timestamps.make(key.lastUsedAt)
            $0.isPrimary = key.isPrimary
            $0.parentKeyId = key.parentKeyID ?? ""
            $0.accountId = key.accountID
            $0.rateLimitRps = policy.keyRate.map { UInt32(min($0.perSecond.rounded(.up), Double(UInt32.max))) } ?? 0
            $0.updatedAt = Timestamps.make(key.updatedAt)
            $0.lastUpdatedBy = key.lastUpdatedBy
            $0.revokedAt = Timestamps.make(key.revokedAt)
            $0.revokeReason = key.revokeReason
            $0.previousSecretExpiresAt = Timestamps.make(key.previousSecretExpiresAt)
        }
    }

    static func account(_ account: ExecboxStorage.Account, tiers: TierTable) -> ExecboxAPI.Account {
        ExecboxAPI.Account.with {
            $0.id = account.id
            $0.email = account.email
            $0.tier = tier(account.tier)
            $0.tierExpiresAt = Timestamps.make(account.tierExpiresAt)
            $0.tierUpdatedAt = Timestamps.make(account.tierUpdatedAt)
            $0.createdAt = Timestamps.make(account.createdAt)
            $0.primaryKeyId = account.primaryKeyID
            $0.tierLimits = tierLimits(account.tier, tiers.policy(for: account.tier))
        }
    }

    static func auditAction(_ action: ExecboxStorage.AuditAction) -> ExecboxAPI.AuditAction {
        switch action {
        case .apiKeyCreated: .apiKeyCreated
        case .apiKeyUpdated: .apiKeyUpdated
        case .apiKeyRevoked: .apiKeyRevoked
        case .apiKeyRotated: .apiKeyRotated
        case .apiKeyActivated: .apiKeyActivated
        case .apiKeyDeactivated: .apiKeyDeactivated
        case .limitsChanged: .limitsChanged
        case .alertRuleCreated: .alertRuleCreated
        case .alertRuleDeleted: .alertRuleDeleted
        case .webhookCreated: .webhookCreated
        case .webhookDeleted: .webhookDeleted
        case .quotaRequested: .quotaRequested
        case .tierChanged: .tierChanged
        // The API has no value for it (yet); target_type `account` tells what it was.
        case .accountCreated: .unspecified
        }
    }

    static func auditAction(_ action: ExecboxAPI.AuditAction) -> ExecboxStorage.AuditAction? {
        ExecboxStorage.AuditAction.allCases.first { auditAction($0) == action && action != .unspecified }
    }

    static func auditEvent(_ event: ExecboxStorage.AuditEvent) -> ExecboxAPI.AuditEvent {
        ExecboxAPI.AuditEvent.with {
            $0.id = event.id ?? 0
            $0.occurredAt = Timestamps.make(event.occurredAt)
            $0.action = auditAction(event.action)
            $0.targetType = event.targetType
            $0.targetId = event.targetID
            $0.performedBy = event.performedBy
            $0.details = event.details
            $0.requestId = event.requestID
            $0.sourceIp = event.sourceIP
        }
    }

    static func quotaStatus(_ status: ExecboxStorage.QuotaRequest.Status) -> QuotaRequestStatus {
        switch status {
        case .pending: .pending
        case .contacted: .contacted
        case .converted: .converted
        case .declined: .declined
        }
    }

    static func quotaRequest(_ request: ExecboxStorage.QuotaRequest) -> ExecboxAPI.QuotaRequest {
        ExecboxAPI.QuotaRequest.with {
            $0.id = request.id ?? 0
            $0.email = request.email
            $0.name = request.name
            $0.company = request.company
            $0.useCase = request.useCase
            $0.requestedLimits = request.requestedLimits
            $0.budget = request.budget
            $0.currentTier = request.currentTier.map { tier($0) } ?? .unspecified
            $0.apiKeyId = request.apiKeyID ?? ""
            $0.status = quotaStatus(request.status)
            $0.createdAt = Timestamps.make(request.createdAt)
            $0.respondedAt = Timestamps.make(request.respondedAt)
        }
    }
}
