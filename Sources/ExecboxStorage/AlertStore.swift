public import Foundation

/// Alert rules.
public protocol AlertStore: Sendable {
    func createAlertRule(_ rule: AlertRule, audit: AuditContext) async throws -> AlertRule
    func listAlertRules(accountID: String, page: PageRequest) async throws -> Page<AlertRule>
    func countAlertRules(accountID: String) async throws -> Int
    /// Fails with `.notFound` for an unknown rule or another account's.
    func deleteAlertRule(id: String, accountID: String, audit: AuditContext) async throws

    /// Marks the rule fired at `at` unless it fired within its cooldown; returns whether it did,
    /// so that two servers evaluating the same rule notify once.
    func fireAlertRule(id: String, at: Date) async throws -> Bool
}
