public import Foundation

/// Which usage to read back.
public struct UsageQuery: Hashable, Sendable {
    public var accountID: String
    /// nil means every key of the account.
    public var apiKeyID: String?
    public var granularity: UsageGranularity
    /// Buckets starting at or after `from` and before `until`.
    public var from: Date
    public var until: Date

    public init(accountID: String, apiKeyID: String? = nil, granularity: UsageGranularity, from: Date, until: Date) {
        self.accountID = accountID
        self.apiKeyID = apiKeyID
        self.granularity = granularity
        self.from = from
        self.until = until
    }
}
