/// Writes that keep imported rows as they were (ids, times, hashes). Each is insert-if-absent,
/// so an import can be run again.
public protocol LegacyImportStore: Sendable {
    /// Inserts the account, its keys and limits unless the account exists; returns whether it did.
    func importAccount(_ account: Account, keys: [APIKeyRecord], limits: AccountLimits?) async throws -> Bool
    func importSession(_ session: SessionRecord, environment: [String: String]) async throws -> Bool
    func importQuotaRequest(_ request: QuotaRequest, legacyID: Int64) async throws -> Bool
}
