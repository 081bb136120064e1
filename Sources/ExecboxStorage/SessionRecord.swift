public import Foundation

/// A session row: its spec, state, where it runs and how it ended.
public struct SessionRecord: Hashable, Sendable {
    public var id: String
    public var accountID: String
    public var apiKeyID: String
    public var status: SessionStatus
    public var spec: SessionSpec
    /// Content address of the image actually run (`sha256:…`); empty until resolved.
    public var imageID: String
    public var imageRef: String
    /// Legacy 16-hex image hash; empty without setup or files.
    public var setupHash: String
    public var imageCacheHit: Bool
    /// Backend name (`runc`, `docker`, …), its id for the sandbox, and the node running it.
    public var backend: String
    public var backendID: String
    public var nodeID: String
    public var network: NetworkInfo?
    public var createdAt: Date
    public var startedAt: Date?
    public var endedAt: Date?
    public var expiresAt: Date?
    public var lastActivityAt: Date?
    public var exit: ExitStatus?
    public var statusMessage: String
    public var usage: SessionUsage
    /// The idempotency key the session was created with, if any.
    public var idempotencyKey: String?

    public init(
        id: String,
        accountID: String,
        apiKeyID: String,
        status: SessionStatus = .pending,
        spec: SessionSpec,
        imageID: String = "",
        imageRef: String = "",
        setupHash: String = "",
        imageCacheHit: Bool = false,
        backend: String = "",
        backendID: String = "",
        nodeID: String = "",
        network: NetworkInfo? = nil,
        createdAt: Date,
        startedAt: Date? = nil,
        endedAt: Date? = nil,
        expiresAt: Date? = nil,
        lastActivityAt: Date? = nil,
        exit: ExitStatus? = nil,
        statusMessage: String = "",
        usage: SessionUsage = SessionUsage(),
        idempotencyKey: String? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.apiKeyID = apiKeyID
        self.status = status
        self.spec = spec
        self.imageID = imageID
        self.imageRef = imageRef
        self.setupHash = setupHash
        self.imageCacheHit = imageCacheHit
        self.backend = backend
        self.backendID = backendID
        self.nodeID = nodeID
        self.network = network
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.expiresAt = expiresAt
        self.lastActivityAt = lastActivityAt
        self.exit = exit
        self.statusMessage = statusMessage
        self.usage = usage
        self.idempotencyKey = idempotencyKey
    }
}
