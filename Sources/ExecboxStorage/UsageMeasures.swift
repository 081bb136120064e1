/// The additive meters of usage; events carry them and roll-ups sum them.
public struct UsageMeasures: Hashable, Sendable {
    public var executions: Int
    public var durationMs: Int
    public var cpuTimeMs: Int
    public var memoryMBSeconds: Int
    public var bytesIn: Int
    public var bytesOut: Int
    public var errors: Int
    /// Legacy formula, whole cents.
    public var costCents: Int
    /// Current price list, millionths of a US dollar.
    public var costMicroUSD: Int

    public init(
        executions: Int = 0,
        durationMs: Int = 0,
        cpuTimeMs: Int = 0,
        memoryMBSeconds: Int = 0,
        bytesIn: Int = 0,
        bytesOut: Int = 0,
        errors: Int = 0,
        costCents: Int = 0,
        costMicroUSD: Int = 0
    ) {
        self.executions = executions
        self.durationMs = durationMs
        self.cpuTimeMs = cpuTimeMs
        self.memoryMBSeconds = memoryMBSeconds
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.errors = errors
        self.costCents = costCents
        self.costMicroUSD = costMicroUSD
    }

    public static func + (lhs: UsageMeasures, rhs: UsageMeasures) -> UsageMeasures {
        UsageMeasures(
            executions: lhs.executions + rhs.executions,
            durationMs: lhs.durationMs + rhs.durationMs,
            cpuTimeMs: lhs.cpuTimeMs + rhs.cpuTimeMs,
            memoryMBSeconds: lhs.memoryMBSeconds + rhs.memoryMBSeconds,
            bytesIn: lhs.bytesIn + rhs.bytesIn,
            bytesOut: lhs.bytesOut + rhs.bytesOut,
            errors: lhs.errors + rhs.errors,
            costCents: lhs.costCents + rhs.costCents,
            costMicroUSD: lhs.costMicroUSD + rhs.costMicroUSD
        )
    }
}
