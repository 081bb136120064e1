public import Foundation

/// One audited action as stored.
public struct AuditEvent: Hashable, Sendable {
    /// Increases with time; nil until stored.
    public var id: Int64?
    public var accountID: String
    public var occurredAt: Date
    public var action: AuditAction
    /// `api_key`, `account_limits`, `alert_rule`, `webhook`, `quota_request` or `account`.
    public var targetType: String
    public var targetID: String
    public var performedBy: String
    /// What changed; never secrets.
    public var details: [String: String]
    public var requestID: String
    public var sourceIP: String

    public init(
        id: Int64? = nil,
        accountID: String,
        action: AuditAction,
        targetType: String,
        targetID: String,
        details: [String: String] = [:],
        context: AuditContext
    ) {
        self.id = id
        self.accountID = accountID
        self.occurredAt = context.at
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
        self.performedBy = context.performedBy
        self.details = details
        self.requestID = context.requestID
        self.sourceIP = context.sourceIP
    }
}
