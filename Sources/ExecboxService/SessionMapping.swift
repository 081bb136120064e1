import ExecboxAPI
import ExecboxSandbox
import ExecboxStorage
import ExecboxWire
import Foundation

/// Session values of the store and the backend as API messages.
extension APIMapping {
    static func session(_ record: SessionRecord) -> Session {
        Session.with {
            $0.id = record.id
            $0.status = status(record.status)
            $0.image = record.spec.image
            $0.imageId = record.imageID
            $0.imageRef = record.imageRef
            $0.setup = record.spec.setup
            $0.files = record.spec.files.map { file in
                FileSummary.with {
                    $0.path = file.path; $0.sizeBytes = Int64(file.size)
                }
            }
            $0.setupHash = record.setupHash
            $0.imageCacheHit = record.imageCacheHit
            $0.command = record.spec.command
            $0.envKeys = record.spec.envKeys
            $0.workDir = record.spec.workDir
            $0.tty = record.spec.tty
            $0.resources = Resources.with {
                $0.cpuMillicores = UInt32(clamping: record.spec.resources.cpuMillicores)
                $0.memoryMb = UInt32(clamping: record.spec.resources.memoryMB)
                $0.pidsMax = UInt32(clamping: record.spec.resources.pidsMax)
                $0.diskMb = UInt32(clamping: record.spec.resources.diskMB)
                $0.timeoutMs = Int64(record.spec.resources.timeoutMs)
                $0.idleTimeoutMs = Int64(record.spec.resources.idleTimeoutMs)
            }
            $0.networkMode = networkMode(record.spec.network)
            $0.ports = record.spec.ports.map { port in
                PortSpec.with {
                    $0.containerPort = UInt32(clamping: port.containerPort)
                    $0.transport = port.transport == "udp" ? .udp : .tcp
                }
            }
            $0.network = NetworkInfo.with { info in
                let network = record.network ?? ExecboxStorage.NetworkInfo(mode: record.spec.network)
                info.mode = networkMode(network.mode)
                info.host = network.host
                info.ports = network.ports.map { binding in
                    PortBinding.with {
                        $0.containerPort = UInt32(clamping: binding.containerPort)
                        $0.transport = binding.transport == "udp" ? .udp : .tcp
                        $0.hostPort = UInt32(clamping: binding.hostPort)
                        $0.url = binding.url
                    }
                }
            }
            $0.labels = record.spec.labels
            $0.createdAt = Timestamps.make(record.createdAt)
            $0.startedAt = Timestamps.make(record.startedAt)
            $0.endedAt = Timestamps.make(record.endedAt)
            $0.expiresAt = Timestamps.make(record.expiresAt)
            $0.lastActivityAt = Timestamps.make(record.lastActivityAt)
            $0.exit = record.exit.map { exitStatus($0, endedAt: record.endedAt, startedAt: record.startedAt) }
            $0.statusMessage = record.statusMessage
            $0.usage = SessionUsage.with {
                $0.durationMs = Int64(record.usage.durationMs)
                $0.cpuTimeMs = Int64(record.usage.cpuTimeMs)
                $0.memoryPeakMb = Int64(record.usage.memoryPeakMB)
                $0.networkTxBytes = Int64(record.usage.networkTxBytes)
                $0.networkRxBytes = Int64(record.usage.networkRxBytes)
                $0.costUsd = Double(record.usage.costMicroUSD) / 1_000_000
                $0.costCents = Int64(record.usage.costCents)
            }
            // backend_id and node_id name the server's hosts: session.proto keeps them empty unless
            // an operator exposes them (not offered yet).
            $0.backend = record.backend
            $0.apiKeyId = record.apiKeyID
            $0.accountId = record.accountID
        }
    }

    static func status(_ status: ExecboxStorage.SessionStatus) -> ExecboxAPI.SessionStatus {
        switch status {
        case .pending: .pending
        case .building: .building
        case .running: .running
        case .stopping: .stopping
        case .stopped: .stopped
        case .failed: .failed
        case .killed: .killed
        }
    }

    static func status(_ status: ExecboxAPI.SessionStatus) -> ExecboxStorage.SessionStatus? {
        switch status {
        case .pending: .pending
        case .building: .building
        case .running: .running
        case .stopping: .stopping
        case .stopped: .stopped
        case .failed: .failed
        case .killed: .killed
        default: nil
        }
    }

    static func networkMode(_ mode: ExecboxStorage.SessionSpec.NetworkMode) -> ExecboxAPI.NetworkMode {
        switch mode {
        case .none: .none
        case .outgoing: .outgoing
        case .exposed: .exposed
        }
    }

    static func exitReason(_ reason: ExecboxStorage.ExitStatus.Reason) -> ExitReason {
        switch reason {
        case .exited: .exited
        case .signaled: .signaled
        case .oomKilled: .oomKilled
        case .timeout: .timeout
        case .idleTimeout: .idleTimeout
        case .killed: .killed
        case .startFailed: .startFailed
        case .lost: .lost
        }
    }

    static func exitStatus(_ exit: ExecboxStorage.ExitStatus, endedAt: Date?, startedAt: Date?) -> ExecboxAPI.ExitStatus
    {
        ExecboxAPI.ExitStatus.with {
            $0.exitCode = Int32(clamping: exit.code ?? -1)
            $0.signal = UInt32(clamping: exit.signal ?? 0)
            $0.oomKilled = exit.oomKilled
            $0.reason = exitReason(exit.reason)
            if let endedAt, let startedAt { $0.durationMs = Int64(max(0, endedAt.timeIntervalSince(startedAt)) * 1000) }
            $0.endedAt = Timestamps.make(endedAt)
        }
    }

    /// A backend exit as the API's, with its run time.
    static func exitStatus(_ exit: ProcessExit, duration: Duration?, endedAt: Date) -> ExecboxAPI.ExitStatus {
        let stored = SessionManager.exitStatus(exit)
        return ExecboxAPI.ExitStatus.with {
            $0.exitCode = exit.code
            $0.signal = UInt32(clamping: exit.signal ?? 0)
            $0.oomKilled = stored.oomKilled
            $0.reason = exitReason(stored.reason)
            if let duration { $0.durationMs = Int64(duration / .milliseconds(1)) }
            $0.endedAt = Timestamps.make(endedAt)
            switch exit.reason {
            case .startFailed: $0.message = exit.code == 127 ? "executable file not found" : "cannot execute the file"
            case .timeout: $0.message = "the exec's timeout was reached"
            case .oomKilled: $0.message = "killed by the OOM killer at the session's memory limit"
            default: break
            }
        }
    }
}
