import ExecboxAPI
public import ExecboxRPC
import ExecboxWellKnownTypes
import ExecboxWire
import Foundation

/// Token buckets per key and per account (limits from the caller's tier), and per client IP on
/// public calls. Runs inside ``AuthInterceptor``. Over the limit: RESOURCE_EXHAUSTED with
/// `retry-after-ms` and an `execbox-error-bin` ErrorDetail in the trailers. Health and
/// reflection are not limited.
public struct RateLimitInterceptor: ServerInterceptor {
    public let limiter: RateLimiter
    public let tiers: TierTable

    public static let retryAfterKey = "retry-after-ms"
    /// On every limited call: the tightest bucket's size, whole tokens left, and the unix time
    /// (seconds) at which it is full again.
    public static let limitKey = "x-ratelimit-limit"
    public static let remainingKey = "x-ratelimit-remaining"
    public static let resetKey = "x-ratelimit-reset"

    public init(limiter: RateLimiter, tiers: TierTable) {
        self.limiter = limiter
        self.tiers = tiers
    }

    public func intercept(
        requests: RPCAsyncSequence<[UInt8]>,
        responses: RPCWriter<[UInt8]>,
        context: ServerContext,
        next: RPCRouter.Handler
    ) async throws {
        switch limiter.admission(checks(for: context)) {
        case .refused(let refusal):
            throw Self.refuse(refusal, context: context)
        case .admitted(let standing?):
            // Response headers of the REST gateway's X-RateLimit-* (and of any gRPC client).
            context.call.addInitialMetadata(Self.limitKey, .string(String(Int(standing.limit.burst))))
            context.call.addInitialMetadata(Self.remainingKey, .string(String(standing.remaining)))
            let reset = Date().timeIntervalSince1970 + standing.secondsUntilFull
            context.call.addInitialMetadata(Self.resetKey, .string(String(Int(reset.rounded(.up)))))
        case .admitted(nil):
            break
        }
        try await next(requests, responses, context)
    }

    func checks(for context: ServerContext) -> [(scope: RateLimiter.Scope, limit: RateLimit)] {
        let method = context.method
        if method.service.hasPrefix("grpc.health.") || method.service.hasPrefix("grpc.reflection.") { return [] }
        if PublicMethods.paths.contains(method.path) {
            let ip = RequestInfo.current?.clientIP ?? RequestInfo.clientIP(fromPeer: context.peer)
            return [(.clientIP(ip), tiers.publicRate)]
        }
        guard let principal = Principal.current else { return [] }
        let policy = tiers.policy(for: principal.tier)
        var checks: [(scope: RateLimiter.Scope, limit: RateLimit)] = []
        if let rate = policy.keyRate { checks.append((.key(principal.keyID), rate)) }
        if let rate = policy.accountRate { checks.append((.account(principal.accountID), rate)) }
        return checks
    }

    static func refuse(_ refusal: RateLimiter.Refusal, context: ServerContext) -> RPCError {
        let retryMs = max(1, Int((refusal.retryAfterSeconds * 1000).rounded(.up)))
        let message =
            "rate limit exceeded: \(Self.describe(refusal.limit)) per \(refusal.scope.name); retry in \(retryMs) ms"
        context.call.addTrailingMetadata(retryAfterKey, .string(String(retryMs)))
        let detail = ErrorDetail.with {
            $0.code = .rateLimitExceeded
            $0.message = message
            $0.retryAfterMs = Int64(retryMs)
            $0.rateLimit = RateLimitInfo.with {
                $0.limit = Int64(refusal.limit.burst)
                $0.remaining = 0
                $0.resetAt = Timestamps.make(Date().addingTimeInterval(Double(retryMs) / 1000))
            }
            $0.requestId = RequestInfo.current?.requestID ?? ""
        }
        context.call.addTrailingMetadata(ErrorDetails.metadataKey, .binary(detail.serializedBytes()))
        return RPCError(code: .resourceExhausted, message: message)
    }

    /// `10 requests/s (burst 10)`.
    static func describe(_ limit: RateLimit) -> String {
        let rate =
            limit.perSecond == limit.perSecond.rounded() ? String(Int(limit.perSecond)) : String(limit.perSecond)
        return "\(rate) requests/s (burst \(Int(limit.burst)))"
    }
}
