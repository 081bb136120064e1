public import Foundation

/// One metered fact (a session's end, an exec's bytes). `idempotencyKey` is unique: recording
/// the same event twice counts it once.
public struct UsageEvent: Hashable, Sendable {
    public var idempotencyKey: String
    public var accountID: String
    public var apiKeyID: String
    public var sessionID: String?
    public var occurredAt: Date
    public var measures: UsageMeasures

    public init(
        idempotencyKey: String,
        accountID: String,
        apiKeyID: String,
        sessionID: String? = nil,
        occurredAt: Date,
        measures: UsageMeasures
    ) {
        self.idempotencyKey = idempotencyKey
        self.accountID = accountID
        self.apiKeyID = apiKeyID
        self.sessionID = sessionID
        self.occurredAt = occurredAt
        self.measures = measures
    }
}
