public import Foundation

/// The result of one delivery attempt.
public struct DeliveryAttempt: Hashable, Sendable {
    public var at: Date
    /// HTTP status; 0 when the connection failed.
    public var statusCode: Int
    public var error: String
    public var succeeded: Bool
    /// When to try again; nil gives up (state `failed`) unless `succeeded`.
    public var retryAt: Date?

    public init(at: Date, statusCode: Int, error: String = "", succeeded: Bool, retryAt: Date? = nil) {
        self.at = at
        self.statusCode = statusCode
        self.error = error
        self.succeeded = succeeded
        self.retryAt = retryAt
    }
}
