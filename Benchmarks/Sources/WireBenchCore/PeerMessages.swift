import Foundation
import SwiftProtobuf
import SwiftProtobufPeer
import WireShapes

/// The shapes as swift-protobuf messages (SwiftProtobufPeer).
enum PeerMessages {
    static func outputChunk(_ s: OutputChunkSpec) -> Execbox_V1_OutputChunk {
        var m = Execbox_V1_OutputChunk()
        m.stream = Execbox_V1_OutputStream(rawValue: Int(s.stream))!
        m.offset = s.offset
        m.data = Data(s.data)
        return m
    }

    static func createSession(_ s: CreateSessionSpec) -> Execbox_V1_CreateSessionRequest {
        var m = Execbox_V1_CreateSessionRequest()
        m.image = s.image
        m.setup = s.setup
        m.files = s.files.map { f in
            var file = Execbox_V1_FileSpec()
            file.path = f.path
            file.content = f.content
            file.encoding = Execbox_V1_FileEncoding(rawValue: Int(f.encoding))!
            return file
        }
        m.command = s.command
        for (k, v) in s.env { m.env[k] = v }
        m.workDir = s.workDir
        m.tty = s.tty
        m.resources = resources(s.resources)
        m.network = Execbox_V1_NetworkMode(rawValue: Int(s.network))!
        m.ports = s.ports.map(portSpec)
        for (k, v) in s.labels { m.labels[k] = v }
        m.idempotencyKey = s.idempotencyKey
        return m
    }

    static func listSessions(_ s: ListSessionsSpec) -> Execbox_V1_ListSessionsResponse {
        var m = Execbox_V1_ListSessionsResponse()
        m.sessions = s.sessions.map(session)
        var page = Execbox_V1_PageResponse()
        page.nextPageToken = s.nextPageToken
        m.page = page
        return m
    }

    static func nested(_ s: NestedSpec) -> Execbox_Fixtures_V1_Nested {
        var m = Execbox_Fixtures_V1_Nested()
        m.id = s.id
        m.name = s.name
        m.children = s.children.map(nested)
        return m
    }

    static func resources(_ s: ResourcesSpec) -> Execbox_V1_Resources {
        var m = Execbox_V1_Resources()
        m.cpuMillicores = s.cpuMillicores
        m.memoryMb = s.memoryMb
        m.pidsMax = s.pidsMax
        m.diskMb = s.diskMb
        m.timeoutMs = s.timeoutMs
        m.idleTimeoutMs = s.idleTimeoutMs
        return m
    }

    static func portSpec(_ s: PortSpecSpec) -> Execbox_V1_PortSpec {
        var m = Execbox_V1_PortSpec()
        m.containerPort = s.containerPort
        m.transport = Execbox_V1_TransportProtocol(rawValue: Int(s.transport))!
        return m
    }

    static func timestamp(_ s: TimestampSpec) -> Google_Protobuf_Timestamp {
        var m = Google_Protobuf_Timestamp()
        m.seconds = s.seconds
        m.nanos = s.nanos
        return m
    }

    static func session(_ s: SessionSpec) -> Execbox_V1_Session {
        var m = Execbox_V1_Session()
        m.id = s.id
        m.status = Execbox_V1_SessionStatus(rawValue: Int(s.status))!
        m.image = s.image
        m.imageID = s.imageId
        m.imageRef = s.imageRef
        m.setupHash = s.setupHash
        m.imageCacheHit = s.imageCacheHit
        m.command = s.command
        m.envKeys = s.envKeys
        m.workDir = s.workDir
        m.resources = resources(s.resources)
        m.networkMode = Execbox_V1_NetworkMode(rawValue: Int(s.networkMode))!
        m.ports = s.ports.map(portSpec)
        var network = Execbox_V1_NetworkInfo()
        network.mode = Execbox_V1_NetworkMode(rawValue: Int(s.network.mode))!
        network.host = s.network.host
        network.ports = s.network.ports.map { b in
            var binding = Execbox_V1_PortBinding()
            binding.containerPort = b.containerPort
            binding.transport = Execbox_V1_TransportProtocol(rawValue: Int(b.transport))!
            binding.hostPort = b.hostPort
            binding.url = b.url
            return binding
        }
        m.network = network
        for (k, v) in s.labels { m.labels[k] = v }
        m.createdAt = timestamp(s.createdAt)
        m.startedAt = timestamp(s.startedAt)
        if let ended = s.endedAt { m.endedAt = timestamp(ended) }
        m.expiresAt = timestamp(s.expiresAt)
        m.lastActivityAt = timestamp(s.lastActivityAt)
        if let e = s.exit {
            var exit = Execbox_V1_ExitStatus()
            exit.exitCode = e.exitCode
            exit.signal = e.signal
            exit.reason = Execbox_V1_ExitReason(rawValue: Int(e.reason))!
            exit.durationMs = e.durationMs
            exit.endedAt = timestamp(e.endedAt)
            exit.message = e.message
            m.exit = exit
        }
        m.statusMessage = s.statusMessage
        var usage = Execbox_V1_SessionUsage()
        usage.durationMs = s.usage.durationMs
        usage.cpuTimeMs = s.usage.cpuTimeMs
        usage.memoryPeakMb = s.usage.memoryPeakMb
        usage.networkTxBytes = s.usage.networkTxBytes
        usage.networkRxBytes = s.usage.networkRxBytes
        usage.costUsd = s.usage.costUsd
        usage.costCents = s.usage.costCents
        m.usage = usage
        m.backend = s.backend
        m.backendID = s.backendId
        m.nodeID = s.nodeId
        m.apiKeyID = s.apiKeyId
        m.accountID = s.accountId
        return m
    }
}
