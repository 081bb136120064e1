public import Foundation

/// Who makes a change, for the audit event the store writes in the same transaction.
public struct AuditContext: Hashable, Sendable {
    /// The acting key id, or `system: <reason>`.
    public var performedBy: String
    public var requestID: String
    public var sourceIP: String
    public var at: Date

    public init(performedBy: String, requestID: String = "", sourceIP: String = "", at: Date) {
        self.performedBy = performedBy
        self.requestID = requestID
        self.sourceIP = sourceIP
        self.at = at
    }
}
