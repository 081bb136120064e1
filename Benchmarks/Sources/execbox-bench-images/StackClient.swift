import ExecboxAPI
import ExecboxGRPC
import ExecboxRPC
import ExecboxWire

/// Ours: a real execbox-server over HTTP/2 through the generated clients, with the bootstrap admin
/// key (the unlimited tier, so no quota or rate limit interferes): CreateSession (with or without
/// setup/files), Exec, KillSession and ImageService.BuildImage, each through the interceptors, the
/// store (SQLite), the session manager and the image builds down to the runc backend.
struct StackClient: Sendable {
    let sessions: SessionServiceClient<GRPCClientTransport>
    let processes: ProcessServiceClient<GRPCClientTransport>
    let images: ImageServiceClient<GRPCClientTransport>
    let metadata: Metadata
    let clock = ContinuousClock()

    init(transport: GRPCClientTransport, key: String) {
        sessions = SessionServiceClient(transport: transport)
        processes = ProcessServiceClient(transport: transport)
        images = ImageServiceClient(transport: transport)
        var metadata = Metadata()
        metadata.add("authorization", "Bearer \(key)")
        self.metadata = metadata
    }

    /// A build's inputs: base image, setup commands and files (path, UTF-8 content).
    struct Inputs: Sendable {
        var base: String
        var setup: [String] = []
        var files: [(path: String, content: String)] = []

        var fileSpecs: [FileSpec] {
            files.map { file in
                FileSpec.with {
                    $0.path = file.path
                    $0.content = file.content
                    $0.encoding = .utf8
                }
            }
        }
    }

    struct Created: Sendable {
        var id: String
        var cacheHit: Bool
        var imageID: String
    }

    /// CreateSession on `inputs` (an image name, or a base with setup/files to build or hit), network
    /// NONE, default resources; the call returns once the session is RUNNING (after any build).
    func create(_ inputs: Inputs) async throws -> Created {
        let request = CreateSessionRequest.with {
            $0.image = inputs.base
            $0.setup = inputs.setup
            $0.files = inputs.fileSpecs
            $0.network = .none
        }
        let session = try await sessions.createSession(request, metadata: metadata).session
        guard let session, session.status == .running else {
            throw BenchFailure("CreateSession answered \(session.map { "\($0.status)" } ?? "no session")")
        }
        return Created(id: session.id, cacheHit: session.imageCacheHit, imageID: session.imageId)
    }

    struct EchoResult: Sendable {
        var created: Created
        /// From `start` to the create call's return.
        var createDuration: Duration
        /// From `start` to the first output chunk of `echo hi`.
        var firstByte: Duration
    }

    /// create → Exec `echo hi` → first output chunk, timed from `start`; the output must be exactly
    /// `hi\n` and the exit 0. The session is left running for the caller to kill.
    func createAndEcho(_ inputs: Inputs, from start: ContinuousClock.Instant) async throws -> EchoResult {
        let created = try await create(inputs)
        let createdAt = clock.now
        let outcome = try await exec(in: created.id, ["echo", "hi"], keep: true)
        guard let first = outcome.first, outcome.stdout == Array("hi\n".utf8), outcome.succeeded else {
            throw BenchFailure("echo hi in \(created.id): output \(outcome.stdout), \(describe(outcome))")
        }
        return EchoResult(created: created, createDuration: createdAt - start, firstByte: first - start)
    }

    /// What one Exec call saw.
    struct ExecOutcome: Sendable {
        var first: ContinuousClock.Instant?
        var stdout: [UInt8] = []
        var exit: ExitStatus?
        var problems: [String] = []

        var succeeded: Bool { exit?.reason == .exited && exit?.exitCode == 0 && problems.isEmpty }
    }

    /// Exec of `argv` with stdin closed by the half-close after `start`; returns once the call ended.
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

    /// `argv`'s stdout in a running session; it must exit 0 without stderr.
    func output(in id: String, _ argv: [String]) async throws -> String {
        let outcome = try await exec(in: id, argv, keep: true)
        guard outcome.succeeded else { throw BenchFailure("\(argv) in \(id): \(describe(outcome))") }
        return String(decoding: outcome.stdout, as: UTF8.self)
    }

    struct Build: Sendable {
        var duration: Duration
        var cacheHit: Bool
        var imageID: String
    }

    /// ImageService.BuildImage of `inputs`, from the call to its end (the result message received and
    /// the call closed); the image must come back READY.
    func build(_ inputs: Inputs) async throws -> Build {
        let request = BuildImageRequest.with {
            $0.baseImage = inputs.base
            $0.setup = inputs.setup
            $0.files = inputs.fileSpecs
        }
        let start = clock.now
        let result = try await images.buildImage(request, metadata: metadata) { responses in
            var result: BuildResult?
            var logs: [String] = []
            for try await response in responses {
                switch response.payload {
                case .result(let value): result = value
                case .log(let line): logs.append(line.line)
                case .accepted, .progress, nil: break
                }
            }
            guard let result else { throw BenchFailure("BuildImage ended without a result") }
            guard let image = result.image, image.status == .ready else {
                throw BenchFailure(
                    "BuildImage: \(result.image.map { "\($0.status) \($0.failureMessage)" } ?? "no image"); log: "
                        + logs.suffix(5).joined(separator: " | "))
            }
            return (result.cacheHit, image.id)
        }
        return Build(duration: clock.now - start, cacheHit: result.0, imageID: result.1)
    }

    /// KillSession for each, all at once.
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

    /// Sessions of the account still pending, building, running or stopping.
    func live() async throws -> [String] {
        let request = ListSessionsRequest.with { $0.statuses = [.pending, .building, .running, .stopping] }
        return try await sessions.listSessions(request, metadata: metadata).sessions.map(\.id)
    }

    private func describe(_ outcome: ExecOutcome) -> String {
        let exit = outcome.exit.map { "exit \($0.reason) \($0.exitCode)" } ?? "no exit"
        return ([exit] + outcome.problems).joined(separator: "; ")
    }
}
