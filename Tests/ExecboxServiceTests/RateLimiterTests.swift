import Testing

@testable import ExecboxService

/// Token buckets and the process-wide limiter, on a manual clock.
@Suite struct RateLimiterTests {
    @Test func aBucketStartsFullAndRefillsContinuously() {
        var bucket = TokenBucket(limit: RateLimit(perSecond: 2, burst: 3), now: 0)
        for _ in 0..<3 {
            #expect(bucket.wait(at: 0) == 0)
            bucket.take(at: 0)
        }
        #expect(bucket.wait(at: 0) == 0.5)
        #expect(bucket.wait(at: 0.25) == 0.25)
        #expect(bucket.wait(at: 0.5) == 0)
        bucket.take(at: 0.5)
        #expect(bucket.available(at: 100) == 3)
        #expect(bucket.isFull(at: 100))
        #expect(!bucket.isFull(at: 0.5))
    }

    @Test func theLimiterRefusesWithTheWaitAndAdmitsAfterIt() throws {
        let clock = ManualClock()
        let limiter = RateLimiter(now: clock.monotonic)
        let limit = RateLimit(requestsPerSecond: 10)
        for _ in 0..<10 { #expect(limiter.admit([(.key("k"), limit)]) == nil) }
        let refusal = try #require(limiter.admit([(.key("k"), limit)]))
        #expect(refusal.scope == .key("k"))
        #expect(abs(refusal.retryAfterSeconds - 0.1) < 1e-9)
        clock.advance(0.1)
        #expect(limiter.admit([(.key("k"), limit)]) == nil)
        #expect(limiter.admit([(.key("k"), limit)]) != nil)
        // Other keys have their own buckets.
        #expect(limiter.admit([(.key("other"), limit)]) == nil)
    }

    @Test func aRefusalTakesNoTokenFromTheOtherBuckets() throws {
        let clock = ManualClock()
        let limiter = RateLimiter(now: clock.monotonic)
        let key = RateLimit(perSecond: 1, burst: 5)
        let account = RateLimit(perSecond: 1, burst: 2)
        #expect(limiter.admit([(.key("a"), key), (.account("acct"), account)]) == nil)
        #expect(limiter.admit([(.key("b"), key), (.account("acct"), account)]) == nil)
        // The account is empty: key "a" is refused, and keeps its 4 tokens.
        let refusal = try #require(limiter.admit([(.key("a"), key), (.account("acct"), account)]))
        #expect(refusal.scope == .account("acct"))
        for _ in 0..<4 { #expect(limiter.admit([(.key("a"), key)]) == nil) }
        #expect(limiter.admit([(.key("a"), key)]) != nil)
    }

    @Test func fullBucketsAreDropped() {
        let clock = ManualClock()
        let limiter = RateLimiter(now: clock.monotonic, sweepEvery: 10)
        let limit = RateLimit(requestsPerSecond: 1)
        for index in 0..<9 { _ = limiter.admit([(.clientIP("10.0.0.\(index)"), limit)]) }
        #expect(limiter.bucketCount == 9)
        clock.advance(5)
        _ = limiter.admit([(.clientIP("10.0.0.100"), limit)])
        #expect(limiter.bucketCount == 1)
    }

    @Test func aChangedLimitStartsAFreshBucket() {
        let clock = ManualClock()
        let limiter = RateLimiter(now: clock.monotonic)
        let one = RateLimit(requestsPerSecond: 1)
        #expect(limiter.admit([(.key("k"), one)]) == nil)
        #expect(limiter.admit([(.key("k"), one)]) != nil)
        #expect(limiter.admit([(.key("k"), RateLimit(requestsPerSecond: 5))]) == nil)
    }
}
