/// What a tier allows. -1 (or nil for rates) means unlimited.
public struct TierPolicy: Hashable, Sendable {
    /// Sessions created per UTC day.
    public var dailySessions: Int
    /// Sessions active at once.
    public var concurrentSessions: Int
    public var maxDurationSeconds: Int
    public var maxMemoryMB: Int
    public var maxCPUMillicores: Int
    /// Requests of one key; nil: unlimited.
    public var keyRate: RateLimit?
    /// Requests of all keys of one account together; nil: unlimited.
    public var accountRate: RateLimit?

    public init(
        dailySessions: Int,
        concurrentSessions: Int,
        maxDurationSeconds: Int,
        maxMemoryMB: Int,
        maxCPUMillicores: Int,
        keyRate: RateLimit?,
        accountRate: RateLimit?
    ) {
        self.dailySessions = dailySessions
        self.concurrentSessions = concurrentSessions
        self.maxDurationSeconds = maxDurationSeconds
        self.maxMemoryMB = maxMemoryMB
        self.maxCPUMillicores = maxCPUMillicores
        self.keyRate = keyRate
        self.accountRate = accountRate
    }
}
