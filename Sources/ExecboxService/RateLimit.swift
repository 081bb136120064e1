/// A token bucket's shape: `burst` tokens at most, refilled at `perSecond`; each call takes one.
public struct RateLimit: Hashable, Sendable, Codable {
    public var perSecond: Double
    public var burst: Double

    public init(perSecond: Double, burst: Double) {
        self.perSecond = perSecond
        self.burst = burst
    }

    /// Legacy shape: capacity = rate (CONTRACT.md §5.3).
    public init(requestsPerSecond: Int) {
        self.init(perSecond: Double(requestsPerSecond), burst: Double(requestsPerSecond))
    }

    enum CodingKeys: String, CodingKey {
        case perSecond = "per_second"
        case burst
    }

    /// Refuses a rate that is not positive or a burst below one call (it could never admit anything).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        perSecond = try container.decode(Double.self, forKey: .perSecond)
        burst = try container.decode(Double.self, forKey: .burst)
        guard perSecond > 0, perSecond.isFinite, burst >= 1, burst.isFinite else {
            throw DecodingError.dataCorruptedError(
                forKey: .perSecond, in: container, debugDescription: "per_second must be > 0 and burst >= 1")
        }
    }
}
