/// Everything the service layer keeps. Implemented over SQLite and PostgreSQL by
/// `ExecboxStorageSQL`; the same contract suite runs against both.
public protocol ExecboxStore: AccountStore, APIKeyStore, SessionStore, UsageStore, ImageCacheStore, LimitsStore,
    AlertStore, WebhookStore, QuotaRequestStore, AuditStore, IdempotencyStore, LegacyImportStore
{
    /// Finishes queued work and closes connections; later calls fail with `.unavailable`.
    func close() async
}
