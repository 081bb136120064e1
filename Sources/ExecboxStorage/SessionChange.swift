public import Foundation

/// Fields of a session to change; nil leaves a field as it is.
public struct SessionChange: Hashable, Sendable {
    public var status: SessionStatus?
    public var imageID: String?
    public var imageRef: String?
    public var backendID: String?
    public var nodeID: String?
    public var network: NetworkInfo?
    public var startedAt: Date?
    public var endedAt: Date?
    public var expiresAt: Date?
    public var lastActivityAt: Date?
    public var exit: ExitStatus?
    public var statusMessage: String?
    public var usage: SessionUsage?

    public init(
        status: SessionStatus? = nil,
        imageID: String? = nil,
        imageRef: String? = nil,
        backendID: String? = nil,
        nodeID: String? = nil,
        network: NetworkInfo? = nil,
        startedAt: Date? = nil,
        endedAt: Date? = nil,
        expiresAt: Date? = nil,
        lastActivityAt: Date? = nil,
        exit: ExitStatus? = nil,
        statusMessage: String? = nil,
        usage: SessionUsage? = nil
    ) {
        self.status = status
        self.imageID = imageID
        self.imageRef = imageRef
        self.backendID = backendID
        self.nodeID = nodeID
        self.network = network
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.expiresAt = expiresAt
        self.lastActivityAt = lastActivityAt
        self.exit = exit
        self.statusMessage = statusMessage
        self.usage = usage
    }
}
