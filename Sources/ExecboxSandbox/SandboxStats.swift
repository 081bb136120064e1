/// Resource use of one sandbox, for usage metering and `GetSession`.
public struct SandboxStats: Hashable, Sendable {
    /// CPU time of every process the sandbox ran, in nanoseconds.
    public var cpuNanoseconds: UInt64
    public var memoryBytes: UInt64
    public var memoryPeakBytes: UInt64
    public var pids: Int
    /// How many times the OOM killer fired inside the sandbox.
    public var oomKills: Int

    public init(cpuNanoseconds: UInt64, memoryBytes: UInt64, memoryPeakBytes: UInt64, pids: Int, oomKills: Int) {
        self.cpuNanoseconds = cpuNanoseconds
        self.memoryBytes = memoryBytes
        self.memoryPeakBytes = memoryPeakBytes
        self.pids = pids
        self.oomKills = oomKills
    }
}
