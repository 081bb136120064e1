/// Resource use and cost of one session.
public struct SessionUsage: Hashable, Sendable {
    public var durationMs: Int
    public var cpuTimeMs: Int
    public var memoryPeakMB: Int
    public var networkTxBytes: Int
    public var networkRxBytes: Int
    /// Legacy formula, whole cents (CONTRACT.md §6.2).
    public var costCents: Int
    /// Current price list, in millionths of a US dollar.
    public var costMicroUSD: Int

    public init(
        durationMs: Int = 0,
        cpuTimeMs: Int = 0,
        memoryPeakMB: Int = 0,
        networkTxBytes: Int = 0,
        networkRxBytes: Int = 0,
        costCents: Int = 0,
        costMicroUSD: Int = 0
    ) {
        self.durationMs = durationMs
        self.cpuTimeMs = cpuTimeMs
        self.memoryPeakMB = memoryPeakMB
        self.networkTxBytes = networkTxBytes
        self.networkRxBytes = networkRxBytes
        self.costCents = costCents
        self.costMicroUSD = costMicroUSD
    }
}
