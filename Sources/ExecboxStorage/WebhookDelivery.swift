public import Foundation

/// One event to deliver to a webhook, with its retry state.
public struct WebhookDelivery: Hashable, Sendable {
    public enum State: String, Hashable, Sendable {
        case pending, succeeded, failed
    }

    /// Assigned by the store.
    public var id: Int64?
    public var webhookID: String
    public var accountID: String
    public var event: String
    /// The JSON body to POST.
    public var payload: String
    /// Unique: enqueueing the same event twice delivers it once.
    public var idempotencyKey: String
    public var state: State
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var lastAttemptAt: Date?
    public var lastStatusCode: Int
    public var lastError: String
    public var createdAt: Date

    public init(
        id: Int64? = nil,
        webhookID: String,
        accountID: String,
        event: String,
        payload: String,
        idempotencyKey: String,
        state: State = .pending,
        attempts: Int = 0,
        nextAttemptAt: Date?,
        lastAttemptAt: Date? = nil,
        lastStatusCode: Int = 0,
        lastError: String = "",
        createdAt: Date
    ) {
        self.id = id
        self.webhookID = webhookID
        self.accountID = accountID
        self.event = event
        self.payload = payload
        self.idempotencyKey = idempotencyKey
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastAttemptAt = lastAttemptAt
        self.lastStatusCode = lastStatusCode
        self.lastError = lastError
        self.createdAt = createdAt
    }
}
