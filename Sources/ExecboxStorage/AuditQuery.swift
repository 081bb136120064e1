public import Foundation

/// A page of an account's audit log, newest first.
public struct AuditQuery: Hashable, Sendable {
    public var accountID: String
    /// Empty means every action.
    public var actions: Set<AuditAction>
    public var targetID: String?
    public var from: Date?
    public var until: Date?
    public var page: PageRequest

    public init(
        accountID: String,
        actions: Set<AuditAction> = [],
        targetID: String? = nil,
        from: Date? = nil,
        until: Date? = nil,
        page: PageRequest = PageRequest()
    ) {
        self.accountID = accountID
        self.actions = actions
        self.targetID = targetID
        self.from = from
        self.until = until
        self.page = page
    }
}
