/// What an import wrote; rows already imported by an earlier run count as skipped.
public struct LegacyImportReport: Hashable, Sendable {
    public var accounts = 0
    public var keys = 0
    public var sessions = 0
    public var sessionsEndedOnImport = 0
    public var quotaRequests = 0
    public var usageRows = 0
    public var skipped = 0

    public init() {}
}
