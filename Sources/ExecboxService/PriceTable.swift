/// What usage costs: a price per session, per CPU-second and per GB-second of memory, in millionths
/// of a US dollar. The defaults are the documented prices of the legacy service (CONTRACT.md §6.2:
/// $0.001 per session, $0.00005 per CPU-second, $0.00001 per GB-second); `execbox-server serve
/// --prices FILE` replaces them with a JSON object of the same field names.
public struct PriceTable: Hashable, Sendable, Codable {
    public var sessionMicroUSD: Int
    public var cpuSecondMicroUSD: Int
    /// Per GiB of peak memory held for one second.
    public var gbSecondMicroUSD: Int

    public init(sessionMicroUSD: Int = 1000, cpuSecondMicroUSD: Int = 50, gbSecondMicroUSD: Int = 10) {
        self.sessionMicroUSD = sessionMicroUSD
        self.cpuSecondMicroUSD = cpuSecondMicroUSD
        self.gbSecondMicroUSD = gbSecondMicroUSD
    }

    public static let defaults = PriceTable()

    /// The cost of one session, rounded to the nearest micro-dollar.
    public func microUSD(durationMs: Int, cpuTimeMs: Int, memoryPeakMB: Int) -> Int {
        let cpu = Double(cpuTimeMs) / 1000 * Double(cpuSecondMicroUSD)
        let memory = Double(memoryPeakMB) / 1024 * Double(durationMs) / 1000 * Double(gbSecondMicroUSD)
        return sessionMicroUSD + Int((cpu + memory).rounded())
    }

    /// The legacy integer formula in whole cents (CONTRACT.md §6.2): 1 ¢ per session, 5 ¢ per
    /// CPU-second, 1 ¢ per GB-second, each term truncated. Kept for clients that reconcile against it.
    public static func legacyCents(durationMs: Int, cpuTimeMs: Int, memoryMB: Int) -> Int {
        1 + Int(Double(cpuTimeMs) / 1000 * 5) + Int(Double(memoryMB) * Double(durationMs) / 1000 / 1024)
    }

    /// Checks a table read from a file: no negative price.
    public func validate() throws -> PriceTable {
        let limit = 1_000_000_000  // $1000 per unit: far beyond any real price, far from overflow
        guard [sessionMicroUSD, cpuSecondMicroUSD, gbSecondMicroUSD].allSatisfy({ (0...limit).contains($0) }) else {
            throw PriceTableError(message: "prices must be 0 to \(limit) micro-dollars")
        }
        return self
    }
}

public struct PriceTableError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
