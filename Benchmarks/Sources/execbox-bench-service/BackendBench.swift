import ExecboxSandbox
import ExecboxSandboxRunc

/// The peer: the runc backend alone, in this process, doing what the service does for the same
/// calls — `create` with the default spec (image `default`, network `none`, default limits), `exec`
/// with stdin closed, events pulled — as execbox-bench-sandbox measures it.
struct BackendBench: Sendable {
    let backend: RuncBackend
    let clock = ContinuousClock()

    /// A configuration whose host-wide names all derive from `namespace` and differ from any
    /// server's (`x…` veths, 10.64/10 pools) and the tests': cgroup parent, veth prefix, nftables
    /// table, address pool and user-id ranges. Runtime state under /run/NAME, spools in `spool`
    /// (next to the server's data directory, so both write their spools to the same file system).
    static func configuration(namespace: String, spool: String, monitor: String?, agent: String?)
        -> RuncBackendConfiguration
    {
        let hash = namespace.utf8.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 }
        let block = hash % 256
        let prefix = String(String(hash % 46656, radix: 36).reversed()).padding(3)
        return RuncBackendConfiguration(
            stateDirectory: "/run/\(namespace)/runc",
            sandboxDirectory: "/run/\(namespace)/sandboxes",
            imageDirectory: "/run/\(namespace)/images",
            spoolDirectory: spool,
            cgroupParent: namespace,
            networkPool: "10.\(192 + block / 16).\((block % 16) * 16).0",
            interfacePrefix: "y\(prefix)",
            nftablesTable: namespace.split(separator: "-").joined(separator: "_"),
            idMapBase: (1 << 20) + (1 << 26),
            monitorPath: monitor,
            agentPath: agent,
            useAgent: agent != nil
        )
    }

    struct EchoResult: Sendable {
        var id: SandboxID
        /// From `start` to the create call's return.
        var created: Duration
        /// From `start` to the first stdout byte of `echo hi`.
        var firstByte: Duration
    }

    /// One sandbox, as CreateSession starts one.
    func create() async throws -> SandboxID {
        let id = SandboxID.random()
        let info = try await backend.create(id, SandboxSpec())
        guard info.state == .running else { throw BenchFailure("sandbox \(id) is \(info.state) after create") }
        return id
    }

    /// create → exec `echo hi` → first stdout byte, timed from `start`; the output must be exactly
    /// `hi\n` and the exit 0. The sandbox is left running for the caller to remove.
    func createAndEcho(from start: ContinuousClock.Instant) async throws -> EchoResult {
        let id = try await create()
        let created = clock.now
        let clock = clock
        let (first, output, exit) = try await backend.exec(id, ExecSpec(argv: ["echo", "hi"])) { process in
            try await process.closeStdin()
            var first: ContinuousClock.Instant?
            var output: [UInt8] = []
            var exit: ProcessExit?
            while let event = try await process.nextEvent() {
                switch event {
                case .stdout(let bytes):
                    if first == nil { first = clock.now }
                    output += bytes
                case .stderr(let bytes):
                    Log.progress("echo hi wrote to stderr: \(String(decoding: bytes, as: UTF8.self))")
                case .exit(let value):
                    exit = value
                }
            }
            return (first, output, exit)
        }
        guard let first, output == Array("hi\n".utf8), exit == .exited(0) else {
            throw BenchFailure("echo hi in \(id): output \(output), exit \(exit.map { "\($0)" } ?? "none")")
        }
        return EchoResult(id: id, created: created - start, firstByte: first - start)
    }

    /// An exec of `true`, from the call to its exit having been reported and the call returning.
    func execTrue(in id: SandboxID) async throws -> Duration {
        let start = clock.now
        let exit = try await backend.exec(id, ExecSpec(argv: ["true"])) { process in
            try await process.closeStdin()
            var exit: ProcessExit?
            while let event = try await process.nextEvent() {
                if case .exit(let value) = event { exit = value }
            }
            return exit
        }
        guard exit == .exited(0) else { throw BenchFailure("true in \(id): \(exit.map { "\($0)" } ?? "no exit")") }
        return clock.now - start
    }

    /// `head -c SIZE /dev/zero` through an exec: bytes received and the time from the call to its return.
    func headZero(in id: SandboxID, size: String) async throws -> (bytes: Int, duration: Duration) {
        let start = clock.now
        let (bytes, exit) = try await backend.exec(id, ExecSpec(argv: ["head", "-c", size, "/dev/zero"])) { process in
            try await process.closeStdin()
            var bytes = 0
            var exit: ProcessExit?
            while let event = try await process.nextEvent() {
                switch event {
                case .stdout(let chunk): bytes += chunk.count
                case .stderr(let chunk): Log.progress("head wrote to stderr: \(String(decoding: chunk, as: UTF8.self))")
                case .exit(let value): exit = value
                }
            }
            return (bytes, exit)
        }
        guard exit == .exited(0) else { throw BenchFailure("head in \(id): \(exit.map { "\($0)" } ?? "no exit")") }
        return (bytes, clock.now - start)
    }

    /// Removes sandboxes (kill, destroy, forget), all at once.
    func remove(_ ids: [SandboxID]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ids { group.addTask { try await backend.remove(id) } }
            try await group.waitForAll()
        }
    }

    /// Sandboxes not yet ended.
    func live() async throws -> Int {
        try await backend.list().filter { !$0.state.isTerminal }.count
    }
}

extension String {
    /// Right-padded with "0" to `length` characters.
    fileprivate func padding(_ length: Int) -> String {
        count >= length ? self : self + String(repeating: "0", count: length - count)
    }
}
