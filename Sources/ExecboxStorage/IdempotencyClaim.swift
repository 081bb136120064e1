public import Foundation

/// A client's idempotency key for a write, with a digest of the request it came with: a repeat
/// with the same digest replays the first result, another digest is refused.
public struct IdempotencyClaim: Hashable, Sendable {
    public var key: String
    public var requestDigest: String
    public var expiresAt: Date

    public init(key: String, requestDigest: String, expiresAt: Date) {
        self.key = key
        self.requestDigest = requestDigest
        self.expiresAt = expiresAt
    }
}
