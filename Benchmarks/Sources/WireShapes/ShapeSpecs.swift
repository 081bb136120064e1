// Plain values of the benchmarked messages, one struct per message, fields named as in the .proto.
// Enums are raw numbers and timestamps (seconds, nanos) pairs; an optional is an unset field.

public struct OutputChunkSpec: Sendable {
    public var stream: Int32
    public var offset: Int64
    public var data: [UInt8]
}

public struct ResourcesSpec: Sendable {
    public var cpuMillicores: UInt32
    public var memoryMb: UInt32
    public var pidsMax: UInt32
    public var diskMb: UInt32
    public var timeoutMs: Int64
    public var idleTimeoutMs: Int64
}

public struct PortSpecSpec: Sendable {
    public var containerPort: UInt32
    public var transport: Int32
}

public struct FileSpecSpec: Sendable {
    public var path: String
    public var content: String
    public var encoding: Int32
}

public struct CreateSessionSpec: Sendable {
    public var image: String
    public var setup: [String]
    public var files: [FileSpecSpec]
    public var command: [String]
    public var env: [(key: String, value: String)]
    public var workDir: String
    public var tty: Bool
    public var resources: ResourcesSpec
    public var network: Int32
    public var ports: [PortSpecSpec]
    public var labels: [(key: String, value: String)]
    public var idempotencyKey: String
}

public struct TimestampSpec: Sendable {
    public var seconds: Int64
    public var nanos: Int32
}

public struct PortBindingSpec: Sendable {
    public var containerPort: UInt32
    public var transport: Int32
    public var hostPort: UInt32
    public var url: String
}

public struct NetworkInfoSpec: Sendable {
    public var mode: Int32
    public var host: String
    public var ports: [PortBindingSpec]
}

public struct ExitStatusSpec: Sendable {
    public var exitCode: Int32
    public var signal: UInt32
    public var reason: Int32
    public var durationMs: Int64
    public var endedAt: TimestampSpec
    public var message: String
}

public struct SessionUsageSpec: Sendable {
    public var durationMs: Int64
    public var cpuTimeMs: Int64
    public var memoryPeakMb: Int64
    public var networkTxBytes: Int64
    public var networkRxBytes: Int64
    public var costUsd: Double
    public var costCents: Int64
}

public struct SessionSpec: Sendable {
    public var id: String
    public var status: Int32
    public var image: String
    public var imageId: String
    public var imageRef: String
    public var setupHash: String
    public var imageCacheHit: Bool
    public var command: [String]
    public var envKeys: [String]
    public var workDir: String
    public var resources: ResourcesSpec
    public var networkMode: Int32
    public var ports: [PortSpecSpec]
    public var network: NetworkInfoSpec
    public var labels: [(key: String, value: String)]
    public var createdAt: TimestampSpec
    public var startedAt: TimestampSpec
    public var endedAt: TimestampSpec?
    public var expiresAt: TimestampSpec
    public var lastActivityAt: TimestampSpec
    public var exit: ExitStatusSpec?
    public var statusMessage: String
    public var usage: SessionUsageSpec
    public var backend: String
    public var backendId: String
    public var nodeId: String
    public var apiKeyId: String
    public var accountId: String
}

public struct ListSessionsSpec: Sendable {
    public var sessions: [SessionSpec]
    public var nextPageToken: String
}

public struct NestedSpec: Sendable {
    public var id: Int32
    public var name: String
    public var children: [NestedSpec]
}
