public import Foundation

/// An alert rule: when `metric` reaches `threshold`, notify the webhooks and/or email.
public struct AlertRule: Hashable, Sendable {
    public enum Metric: String, Hashable, Sendable {
        case dailySessionsPercent = "daily_sessions_percent"
        case concurrentSessionsPercent = "concurrent_sessions_percent"
        case monthlyCostPercent = "monthly_cost_percent"
        case monthlyCostUSD = "monthly_cost_usd"
        case dailyErrorRatePercent = "daily_error_rate_percent"
    }

    public var id: String
    public var accountID: String
    public var name: String
    public var metric: Metric
    public var threshold: Double
    public var webhookIDs: [String]
    public var notifyEmail: Bool
    public var cooldownMs: Int
    public var createdAt: Date
    public var lastTriggeredAt: Date?

    public init(
        id: String,
        accountID: String,
        name: String,
        metric: Metric,
        threshold: Double,
        webhookIDs: [String] = [],
        notifyEmail: Bool = false,
        cooldownMs: Int = 3_600_000,
        createdAt: Date,
        lastTriggeredAt: Date? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.metric = metric
        self.threshold = threshold
        self.webhookIDs = webhookIDs
        self.notifyEmail = notifyEmail
        self.cooldownMs = cooldownMs
        self.createdAt = createdAt
        self.lastTriggeredAt = lastTriggeredAt
    }
}
