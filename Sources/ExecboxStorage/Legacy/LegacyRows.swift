public import Foundation

/// Rows of a legacy execbox-cloud database (CONTRACT.md §7), as read by a `LegacySource`.
/// Nullable legacy columns stay optional; JSON columns stay text.
public enum LegacyRows {
    /// `api_keys`: `key` is the plaintext secret the legacy service stored.
    public struct APIKey: Hashable, Sendable {
        public var id: String
        public var key: String
        public var accountID: String
        public var parentKeyID: String?
        public var tier: String
        public var rateLimitRPS: Int?
        public var email: String?
        public var name: String?
        public var description: String?
        public var isActive: Bool?
        public var expiresAt: Date?
        public var customDailyLimit: Int?
        public var customConcurrentLimit: Int?
        public var lastUpdatedBy: String?
        public var tierExpiresAt: Date?
        public var tierUpdatedAt: Date?
        public var createdAt: Date
        public var lastUsedAt: Date?

        public init(id: String, key: String, accountID: String, tier: String, createdAt: Date) {
            self.id = id
            self.key = key
            self.accountID = accountID
            self.tier = tier
            self.createdAt = createdAt
        }
    }

    /// `sessions`: `accountID` holds the creating key's id (CONTRACT.md §11.8).
    public struct Session: Hashable, Sendable {
        public var id: String
        public var apiKeyID: String
        public var backendID: String?
        public var image: String
        public var commandJSON: String?
        public var envJSON: String?
        public var portsJSON: String?
        public var setupHash: String?
        public var status: String
        public var exitCode: Int?
        public var createdAt: Date
        public var startedAt: Date?
        public var endedAt: Date?
        public var costEstimateCents: Int
        public var cpuMillisUsed: Int
        public var memoryPeakMB: Int
        public var networkTransferMB: Int

        public init(id: String, apiKeyID: String, image: String, status: String, createdAt: Date) {
            self.id = id
            self.apiKeyID = apiKeyID
            self.image = image
            self.status = status
            self.createdAt = createdAt
            self.costEstimateCents = 0
            self.cpuMillisUsed = 0
            self.memoryPeakMB = 0
            self.networkTransferMB = 0
        }
    }

    /// `account_limits`: keyed by a key id in practice; the budget is in US dollars.
    public struct AccountLimits: Hashable, Sendable {
        public var accountID: String
        public var dailyRequestsLimit: Int?
        public var concurrentRequestsLimit: Int?
        public var monthlyCostLimitUSD: Double?
        public var alertThresholdPercentage: Int?
        public var billingEmail: String?
        public var timezone: String?
        public var updatedAt: Date

        public init(accountID: String, updatedAt: Date) {
            self.accountID = accountID
            self.updatedAt = updatedAt
        }
    }

    /// `quota_requests`.
    public struct QuotaRequest: Hashable, Sendable {
        public var id: Int64
        public var apiKeyID: String?
        public var email: String
        public var name: String?
        public var company: String?
        public var currentTier: String?
        public var requestedLimits: String?
        public var budget: String?
        public var useCase: String?
        public var notes: String?
        public var status: String
        public var createdAt: Date
        public var respondedAt: Date?

        public init(id: Int64, email: String, status: String, createdAt: Date) {
            self.id = id
            self.email = email
            self.status = status
            self.createdAt = createdAt
        }
    }

    /// A usage roll-up row: `hourly_account_usage` (per key id and hour) or `usage_metrics`
    /// (per key and day).
    public struct Usage: Hashable, Sendable {
        public var id: Int64
        public var apiKeyID: String
        public var start: Date
        public var executions: Int
        public var durationMs: Int
        public var costCents: Int
        public var cpuMillis: Int
        public var memoryMBSeconds: Int
        public var errors: Int

        public init(id: Int64, apiKeyID: String, start: Date, executions: Int, durationMs: Int = 0) {
            self.id = id
            self.apiKeyID = apiKeyID
            self.start = start
            self.executions = executions
            self.durationMs = durationMs
            self.costCents = 0
            self.cpuMillis = 0
            self.memoryMBSeconds = 0
            self.errors = 0
        }
    }
}
