/// A token bucket as a value: starts full, refills continuously, each admitted call takes one
/// token. Times are seconds on a monotonic clock.
public struct TokenBucket: Hashable, Sendable {
    public let limit: RateLimit
    public private(set) var tokens: Double
    public private(set) var updatedAt: Double

    public init(limit: RateLimit, now: Double) {
        self.limit = limit
        self.tokens = limit.burst
        self.updatedAt = now
    }

    /// Tokens after refilling up to `now`.
    public func available(at now: Double) -> Double {
        min(limit.burst, tokens + max(0, now - updatedAt) * limit.perSecond)
    }

    /// Seconds until a token is there; 0 when one is there now.
    public func wait(at now: Double) -> Double {
        let available = available(at: now)
        return available >= 1 ? 0 : (1 - available) / limit.perSecond
    }

    /// Takes a token; call only when ``wait(at:)`` is 0.
    public mutating func take(at now: Double) {
        tokens = available(at: now) - 1
        updatedAt = max(updatedAt, now)
    }

    /// Whether the bucket is full again: then it is the same as a new one and can be dropped.
    public func isFull(at now: Double) -> Bool {
        available(at: now) >= limit.burst
    }
}
