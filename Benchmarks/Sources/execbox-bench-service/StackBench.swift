import ExecboxAPI
import ExecboxGRPC
import ExecboxRPC
import ExecboxWire

/// Ours: the full stack — a real execbox-server over HTTP/2 through the generated clients, with the
/// bootstrap admin key (the unlimited tier, so no quota or rate limit interferes). Every call goes
/// through the interceptors (request id, authentication, rate limits), the store (SQLite) and the
/// session manager down to the same runc backend.
struct StackBench: Sendable {
    let sessions: SessionServiceClient<GRPCClientTransport>
    let processes: ProcessServiceClient<GRPCClientTransport>
    let metadata: Metadata
    let clock = ContinuousClock()

    init(transport: GRPCClientTransport, key: String) {
        sessions = SessionServiceClient(transport: transport)
        processes = ProcessServiceClient(transport: transport)
        var metadata = Metadata()
        metadata.add("authorization", "Bearer \(key)")
        self.metadata = metadata
    }

    struct EchoResult: Sendable {
        var id: String
        /// From `start` to the create call's return.
        var created: Duration
        /// From `start` to the first output chunk of `echo hi`.
        var firstByte: Duration
    }

    /// One session as the backend's default spec: image `default`, network NONE, default resources;
    /// the runc backend returns it RUNNING.
    func create() async throws -> String {
        let request = CreateSessionRequest.with {
            $0.image = "default"
            $0.network = .none
        }
        let session = try await sessions.createSession(request, metadata: metadata).session
        guard let session, session.status == .running else {
            throw BenchFailure("CreateSession answered \(session.map { "\($0.status)" } ?? "no session")")
        }
        return session.id
    }

    /// What one Exec call saw.
    struct ExecOutcome: Sendable {
        var first: ContinuousClock.Instant?
        var stdout: [UInt8] = []
        var bytes = 0
        var exit: ExitStatus?
        var problems: [String] = []

        var succeeded: Bool { exit?.reason == .exited && exit?.exitCode == 0 && problems.isEmpty }
    }

    /// Exec of `argv` with stdin closed by the half-close after `start`, as BackendBench closes it;
    /// returns once the call ended. Keeps stdout when `keep`, else only counts it.
    func exec(in id: String, _ argv: [String], keep: Bool = false) async throws -> ExecOutcome {
        let clock = clock
        let start = ExecRequest.with {
            $0.payload = .start(
                .with {
                    $0.sessionId = id
                    $0.argv = argv
                })
        }
        return try await processes.exec(
            metadata: metadata,
            requests: { writer in try await writer.write(start) },
            onResponse: { responses in
                var outcome = ExecOutcome()
                for try await response in responses {
                    switch response.payload {
                    case .output(let chunk):
                        if outcome.first == nil { outcome.first = clock.now }
                        if chunk.stream == .stdout {
                            outcome.bytes += chunk.data.count
                            if keep { outcome.stdout += chunk.data }
                        } else {
                            outcome.problems.append("stderr: \(String(decoding: chunk.data, as: UTF8.self))")
                        }
                    case .exit(let exit): outcome.exit = exit
                    case .error(let error): outcome.problems.append("stream error \(error.code): \(error.message)")
                    case .started, nil: break
                    }
                }
                return outcome
            }
        )
    }

    /// create → Exec `echo hi` → first output chunk, timed from `start`; the output must be exactly
    /// `hi\n` and the exit 0. The session is left running for the caller to kill.
    func createAndEcho(from start: ContinuousClock.Instant) async throws -> EchoResult {
        let id = try await create()
        let created = clock.now
        let outcome = try await exec(in: id, ["echo", "hi"], keep: true)
        guard let first = outcome.first, outcome.stdout == Array("hi\n".utf8), outcome.succeeded else {
            throw BenchFailure("echo hi in \(id): output \(outcome.stdout), \(describe(outcome))")
        }
        return EchoResult(id: id, created: created - start, firstByte: first - start)
    }

    /// An Exec of `true`, from the call to its exit having arrived and the call returning.
    func execTrue(in id: String) async throws -> Duration {
        let start = clock.now
        let outcome = try await exec(in: id, ["true"])
        guard outcome.succeeded else { throw BenchFailure("true in \(id): \(describe(outcome))") }
        return clock.now - start
    }

    /// `head -c SIZE /dev/zero` through an Exec: stdout bytes received and the time from the call to
    /// its return.
    func headZero(in id: String, size: String) async throws -> (bytes: Int, duration: Duration) {
        let start = clock.now
        let outcome = try await exec(in: id, ["head", "-c", size, "/dev/zero"])
        guard outcome.succeeded else { throw BenchFailure("head in \(id): \(describe(outcome))") }
        return (outcome.bytes, clock.now - start)
    }

    /// KillSession for each, all at once (the server destroys the sandbox within the call).
    func kill(_ ids: [String]) async throws {
        let sessions = sessions
        let metadata = metadata
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ids {
                group.addTask { _ = try await sessions.killSession(.with { $0.sessionId = id }, metadata: metadata) }
            }
            try await group.waitForAll()
        }
    }

    /// Sessions of the account still pending or running.
    func live() async throws -> [String] {
        let request = ListSessionsRequest.with { $0.statuses = [.pending, .building, .running, .stopping] }
        return try await sessions.listSessions(request, metadata: metadata).sessions.map(\.id)
    }

    private func describe(_ outcome: ExecOutcome) -> String {
        let exit = outcome.exit.map { "exit \($0.reason) \($0.exitCode)" } ?? "no exit"
        return ([exit] + outcome.problems).joined(separator: "; ")
    }
}
