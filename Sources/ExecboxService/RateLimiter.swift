import Synchronization

/// The process-wide token buckets, keyed by what they limit (a key, an account, a client IP).
/// One instance serves every connection, so opening more connections does not add tokens.
/// Buckets that have refilled completely are dropped (they equal a new bucket), so memory follows
/// the callers active in the last few seconds, not every caller ever seen.
public final class RateLimiter: Sendable {
    public enum Scope: Hashable, Sendable {
        case key(String)
        case account(String)
        case clientIP(String)

        var name: String {
            switch self {
            case .key: "key"
            case .account: "account"
            case .clientIP: "client address"
            }
        }
    }

    /// Refused: the scope whose bucket was empty, its limit, and when to retry.
    public struct Refusal: Hashable, Sendable {
        public var scope: Scope
        public var limit: RateLimit
        public var retryAfterSeconds: Double
    }

    private struct State {
        var buckets: [Scope: TokenBucket] = [:]
        var admissionsSinceSweep = 0
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> Double
    private let sweepEvery: Int

    /// `now`: seconds on a monotonic clock (injected in tests).
    public init(now: @escaping @Sendable () -> Double = RateLimiter.monotonicSeconds, sweepEvery: Int = 4096) {
        self.now = now
        self.sweepEvery = sweepEvery
    }

    public static let monotonicSeconds: @Sendable () -> Double = {
        let elapsed = ContinuousClock.now - origin
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
    private static let origin = ContinuousClock.now

    /// Where an admitted call leaves its tightest bucket: the `X-RateLimit-*` headers.
    public struct Standing: Hashable, Sendable {
        public var limit: RateLimit
        /// Whole tokens left after this call.
        public var remaining: Int
        /// Seconds until the bucket is full again.
        public var secondsUntilFull: Double
    }

    /// Takes one token from every bucket, or from none: a call refused by its account's bucket does
    /// not use up its key's. Returns the refusal with the longest wait, nil when admitted.
    public func admit(_ checks: [(scope: Scope, limit: RateLimit)]) -> Refusal? {
        if case .refused(let refusal) = admission(checks) { return refusal }
        return nil
    }

    public enum Admission: Hashable, Sendable {
        /// Admitted; the standing of the bucket with the fewest tokens left (nil without checks).
        case admitted(Standing?)
        case refused(Refusal)
    }

    /// ``admit(_:)`` with the standing of an admitted call.
    public func admission(_ checks: [(scope: Scope, limit: RateLimit)]) -> Admission {
        let now = now()
        return state.withLock { state in
            var refusal: Refusal?
            for check in checks {
                let bucket = Self.bucket(&state, check.scope, check.limit, now)
                let wait = bucket.wait(at: now)
                if wait > 0, wait > refusal?.retryAfterSeconds ?? 0 {
                    refusal = Refusal(scope: check.scope, limit: check.limit, retryAfterSeconds: wait)
                }
            }
            var standing: Standing?
            if refusal == nil {
                for check in checks {
                    state.buckets[check.scope]?.take(at: now)
                    guard let bucket = state.buckets[check.scope] else { continue }
                    let left = bucket.available(at: now)
                    if standing == nil || Double(standing!.remaining) > left {
                        standing = Standing(
                            limit: check.limit, remaining: max(0, Int(left.rounded(.down))),
                            secondsUntilFull: (check.limit.burst - left) / check.limit.perSecond)
                    }
                }
            }
            state.admissionsSinceSweep += 1
            if state.admissionsSinceSweep >= sweepEvery {
                state.admissionsSinceSweep = 0
                state.buckets = state.buckets.filter { !$0.value.isFull(at: now) }
            }
            return refusal.map { .refused($0) } ?? .admitted(standing)
        }
    }

    /// Buckets held now (for tests and metrics).
    public var bucketCount: Int {
        state.withLock { $0.buckets.count }
    }

    private static func bucket(_ state: inout State, _ scope: Scope, _ limit: RateLimit, _ now: Double)
        -> TokenBucket
    {
        if let bucket = state.buckets[scope], bucket.limit == limit { return bucket }
        // New, or the tier changed: start full under the new limit.
        let bucket = TokenBucket(limit: limit, now: now)
        state.buckets[scope] = bucket
        return bucket
    }
}
