import ExecboxAPI
import ExecboxFixtures
import ExecboxWellKnownTypes
import WireShapes

/// The shapes as Execbox messages (ExecboxAPI / ExecboxFixtures).
enum OursMessages {
    static func outputChunk(_ s: OutputChunkSpec) -> OutputChunk {
        var m = OutputChunk()
        m.stream = OutputStream(rawValue: s.stream)
        m.offset = s.offset
        m.data = s.data
        return m
    }

    static func createSession(_ s: CreateSessionSpec) -> CreateSessionRequest {
        var m = CreateSessionRequest()
        m.image = s.image
        m.setup = s.setup
        m.files = s.files.map { f in
            var file = FileSpec()
            file.path = f.path
            file.content = f.content
            file.encoding = FileEncoding(rawValue: f.encoding)
            return file
        }
        m.command = s.command
        for (k, v) in s.env { m.env[k] = v }
        m.workDir = s.workDir
        m.tty = s.tty
        m.resources = resources(s.resources)
        m.network = NetworkMode(rawValue: s.network)
        m.ports = s.ports.map(portSpec)
        for (k, v) in s.labels { m.labels[k] = v }
        m.idempotencyKey = s.idempotencyKey
        return m
    }

    static func listSessions(_ s: ListSessionsSpec) -> ListSessionsResponse {
        var m = ListSessionsResponse()
        m.sessions = s.sessions.map(session)
        var page = PageResponse()
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

    static func resources(_ s: ResourcesSpec) -> Resources {
        var m = Resources()
        m.cpuMillicores = s.cpuMillicores
        m.memoryMb = s.memoryMb
        m.pidsMax = s.pidsMax
        m.diskMb = s.diskMb
        m.timeoutMs = s.timeoutMs
        m.idleTimeoutMs = s.idleTimeoutMs
        return m
    }

    static func portSpec(_ s: PortSpecSpec) -> PortSpec {
        var m = PortSpec()
        m.containerPort = s.containerPort
        m.transport = TransportProtocol(rawValue: s.transport)
        return m
    }

    static func timestamp(_ s: TimestampSpec) -> Google_Protobuf_Timestamp {
        var m = Google_Protobuf_Timestamp()
        m.seconds = s.seconds
        m.nanos = s.nanos
        return m
    }

    static func session(_ s: SessionSpec) -> Session {
        var m = Session()
        m.id = s.id
        m.status = SessionStatus(rawValue: s.status)
        m.image = s.image
        m.imageId = s.imageId
        m.imageRef = s.imageRef
        m.setupHash = s.setupHash
        m.imageCacheHit = s.imageCacheHit
        m.command = s.command
        m.envKeys = s.envKeys
        m.workDir = s.workDir
        m.resources = resources(s.resources)
        m.networkMode = NetworkMode(rawValue: s.networkMode)
        m.ports = s.ports.map(portSpec)
        var network = NetworkInfo()
        network.mode = NetworkMode(rawValue: s.network.mode)
        network.host = s.network.host
        network.ports = s.network.ports.map { b in
            var binding = PortBinding()
            binding.containerPort = b.containerPort
            binding.transport = TransportProtocol(rawValue: b.transport)
            binding.hostPort = b.hostPort
            binding.url = b.url
            return binding
        }
        m.network = network
        for (k, v) in s.labels { m.labels[k] = v }
        m.createdAt = timestamp(s.createdAt)
        m.startedAt = timestamp(s.startedAt)
        m.endedAt = s.endedAt.map(timestamp)
        m.expiresAt = timestamp(s.expiresAt)
        m.lastActivityAt = timestamp(s.lastActivityAt)
        m.exit = s.exit.map { e in
            var exit = ExitStatus()
            exit.exitCode = e.exitCode
            exit.signal = e.signal
            exit.reason = ExitReason(rawValue: e.reason)
            exit.durationMs = e.durationMs
            exit.endedAt = timestamp(e.endedAt)
            exit.message = e.message
            return exit
        }
        m.statusMessage = s.statusMessage
        var usage = SessionUsage()
        usage.durationMs = s.usage.durationMs
        usage.cpuTimeMs = s.usage.cpuTimeMs
        usage.memoryPeakMb = s.usage.memoryPeakMb
        usage.networkTxBytes = s.usage.networkTxBytes
        usage.networkRxBytes = s.usage.networkRxBytes
        usage.costUsd = s.usage.costUsd
        usage.costCents = s.usage.costCents
        m.usage = usage
        m.backend = s.backend
        m.backendId = s.backendId
        m.nodeId = s.nodeId
        m.apiKeyId = s.apiKeyId
        m.accountId = s.accountId
        return m
    }
}
