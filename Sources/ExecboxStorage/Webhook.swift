public import Foundation

/// A webhook endpoint. Its signing secret is stored encrypted (it must be read back to sign),
/// and only a preview is kept in clear.
public struct Webhook: Hashable, Sendable {
    public var id: String
    public var accountID: String
    public var url: String
    public var description: String
    /// Event names delivered; empty means all.
    public var events: [String]
    public var secretPreview: String
    public var createdAt: Date
    public var lastDeliveryAt: Date?
    public var lastDeliveryStatus: Int
    public var consecutiveFailures: Int

    public init(
        id: String,
        accountID: String,
        url: String,
        description: String = "",
        events: [String] = [],
        secretPreview: String,
        createdAt: Date,
        lastDeliveryAt: Date? = nil,
        lastDeliveryStatus: Int = 0,
        consecutiveFailures: Int = 0
    ) {
        self.id = id
        self.accountID = accountID
        self.url = url
        self.description = description
        self.events = events
        self.secretPreview = secretPreview
        self.createdAt = createdAt
        self.lastDeliveryAt = lastDeliveryAt
        self.lastDeliveryStatus = lastDeliveryStatus
        self.consecutiveFailures = consecutiveFailures
    }
}
