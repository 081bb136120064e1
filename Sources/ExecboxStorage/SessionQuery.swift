/// A page of an account's sessions, newest first (created_at, then id, descending).
public struct SessionQuery: Hashable, Sendable {
    public var accountID: String
    public var apiKeyID: String?
    /// Empty means every status.
    public var statuses: Set<SessionStatus>
    /// Sessions must carry every one of these labels with exactly these values.
    public var labels: [String: String]
    public var page: PageRequest

    public init(
        accountID: String,
        apiKeyID: String? = nil,
        statuses: Set<SessionStatus> = [],
        labels: [String: String] = [:],
        page: PageRequest = PageRequest()
    ) {
        self.accountID = accountID
        self.apiKeyID = apiKeyID
        self.statuses = statuses
        self.labels = labels
        self.page = page
    }
}
