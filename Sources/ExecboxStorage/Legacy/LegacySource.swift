/// Reads a legacy execbox-cloud database. Missing tables or columns (the legacy migrations 005
/// and 006 never applied cleanly, CONTRACT.md §7) read as empty or NULL.
public protocol LegacySource: Sendable {
    func apiKeys() async throws -> [LegacyRows.APIKey]
    func accountLimits() async throws -> [LegacyRows.AccountLimits]
    /// Sessions ordered by id, `limit` at a time after `afterID`.
    func sessions(afterID: String?, limit: Int) async throws -> [LegacyRows.Session]
    func quotaRequests() async throws -> [LegacyRows.QuotaRequest]
    func hourlyUsage() async throws -> [LegacyRows.Usage]
    func dailyUsage() async throws -> [LegacyRows.Usage]
}
