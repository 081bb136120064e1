import ExecboxAPI
import ExecboxRPC
import ExecboxSandbox
import ExecboxSandboxRunc
import ExecboxStorage
import ExecboxStorageSQL
import ExecboxTesting
import ExecboxWire
import Foundation
import Glibc
import Logging
import Testing

@testable import ExecboxService

/// The service stack over a temporary store and a real runc backend of its own (own directories,
/// cgroup parent, veth prefix and nftables table), served in-process, with the session reconciler
/// running. Needs root and Debian's runc; under `CI=true` their absence fails instead of skipping.
struct SessionFixture: Sendable {
    let service: ServiceFixture
    let backend: RuncBackend
    let manager: SessionManager
    let sessions: SessionServiceClient<InProcessTransport>
    let processes: ProcessServiceClient<InProcessTransport>
    let files: FileServiceClient<InProcessTransport>
    let network: NetworkServiceClient<InProcessTransport>
    let accounts: AccountServiceClient<InProcessTransport>

    static var enabled: Bool {
        getuid() == 0 && (access("/usr/sbin/runc", X_OK) == 0 || getenv("CI").map { String(cString: $0) } == "true")
    }

    static func with(
        tiers: TierTable = .roomy,
        settings: SessionManager.Settings = .init(reconcileInterval: .milliseconds(100)),
        _ body: (SessionFixture) async throws -> Void
    ) async throws {
        let tag = String(UUID().uuidString.lowercased().prefix(6))
        let root = "/run/execbox-test/svc-\(tag)"
        let octet = tag.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xff }
        let configuration = RuncBackendConfiguration(
            stateDirectory: "\(root)/runc", sandboxDirectory: "\(root)/sandboxes", imageDirectory: "\(root)/images",
            spoolDirectory: "\(root)/spool", cgroupParent: "execbox-svc-\(tag)", networkPool: "10.91.\(octet).0",
            interfacePrefix: "es\(tag.prefix(3))", nftablesTable: "execbox_svc_\(tag)", maxSandboxes: 64)
        var logger = Logger(label: "execbox.test")
        logger.logLevel = .critical
        let backend = try await RuncBackend.make(configuration: configuration, logger: logger)
        try await withFixture(tiers: tiers) { service in
            let manager = SessionManager(
                store: service.store, backend: backend, tiers: tiers, settings: settings, logger: logger)
            let transport = InProcessTransport(
                router: service.stack.router(with: service.stack.sessionServices(manager)))
            let fixture = SessionFixture(
                service: service, backend: backend, manager: manager,
                sessions: SessionServiceClient(transport: transport),
                processes: ProcessServiceClient(transport: transport),
                files: FileServiceClient(transport: transport), network: NetworkServiceClient(transport: transport),
                accounts: AccountServiceClient(transport: transport))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await backend.run() }
                group.addTask { try await manager.run() }
                while await backend.health().status != .serving { try await Task.sleep(for: .milliseconds(1)) }
                do {
                    try await body(fixture)
                } catch {
                    group.cancelAll()
                    try? await group.waitForAll()
                    await backend.removeHostNetworkState()
                    throw error
                }
                group.cancelAll()
                try? await group.waitForAll()
            }
            await backend.removeHostNetworkState()
        }
        RuncBackend.removeImageFiles(configuration)
        RuncBackend.removeSpoolFiles(configuration)
        for directory in ["runc", "sandboxes"] { rmdir("\(root)/\(directory)") }
        rmdir(root)
        // The backend's (now empty) cgroup parent, in every hierarchy.
        for hierarchy in (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? [] {
            rmdir("/sys/fs/cgroup/\(hierarchy)/\(configuration.cgroupParent)")
        }
    }

    /// A new session of `caller` (the default image, outgoing network unless asked otherwise).
    func create(_ caller: Caller, _ configure: (inout CreateSessionRequest) -> Void = { _ in }) async throws -> Session
    {
        var request = CreateSessionRequest.with { $0.image = "default" }
        configure(&request)
        return try await sessions.createSession(request, metadata: caller.metadata).session!
    }

    struct ExecResult: Sendable {
        var started: ProcessStarted?
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var exit: ExecboxAPI.ExitStatus?
        var errors: [StreamError] = []
        /// Offsets were continuous per stream, and nothing followed the exit.
        var ordered = true

        var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs an exec to its end, sending `stdin` then closing it.
    func exec(
        _ caller: Caller, _ sessionID: String, _ argv: [String], stdin: [UInt8] = [],
        _ configure: @escaping @Sendable (inout ExecStart) -> Void = { _ in }
    ) async throws -> ExecResult {
        try await processes.exec(
            metadata: caller.metadata,
            requests: { writer in
                var start = ExecStart.with {
                    $0.sessionId = sessionID
                    $0.argv = argv
                }
                configure(&start)
                try await writer.write(.with { $0.payload = .start(start) })
                if !stdin.isEmpty { try await writer.write(.with { $0.payload = .stdin(stdin) }) }
            },
            onResponse: { responses in
                var result = ExecResult()
                for try await response in responses {
                    if result.exit != nil { result.ordered = false }
                    switch response.payload {
                    case .started(let started): result.started = started
                    case .output(let chunk):
                        if chunk.stream == .stdout {
                            if chunk.offset != result.stdout.count { result.ordered = false }
                            result.stdout += chunk.data
                        } else {
                            if chunk.offset != result.stderr.count { result.ordered = false }
                            result.stderr += chunk.data
                        }
                    case .exit(let exit): result.exit = exit
                    case .error(let error): result.errors.append(error)
                    case nil: result.ordered = false
                    }
                }
                return result
            })
    }

    /// Polls until `condition` holds for the session (up to `timeout`).
    func waitFor(
        _ caller: Caller, _ sessionID: String, timeout: Duration = .seconds(10),
        _ condition: (Session) -> Bool
    ) async throws -> Session {
        let deadline = ContinuousClock.now + timeout
        while true {
            let session = try await sessions.getSession(.with { $0.sessionId = sessionID }, metadata: caller.metadata)
                .session!
            if condition(session) || ContinuousClock.now > deadline { return session }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The account's usage today, summed.
    func usageToday(_ caller: Caller) async throws -> UsageMeasures {
        let now = Date()
        let buckets = try await service.store.usage(
            UsageQuery(
                accountID: caller.accountID, granularity: .daily, from: now.addingTimeInterval(-86400),
                until: now.addingTimeInterval(86400)))
        return buckets.reduce(UsageMeasures()) { $0 + $1.measures }
    }
}
