import ExecboxAPI
import ExecboxGRPC
import ExecboxRPC
import ExecboxWire

/// The peer: gRPC over our HTTP/2 client (one connection for everything), the generated
/// SessionServiceClient and ProcessServiceClient, `authorization: Bearer <key>` on every call.
struct GRPCSide: Side {
    let sessions: SessionServiceClient<GRPCClientTransport>
    let processes: ProcessServiceClient<GRPCClientTransport>
    let metadata: Metadata
    let clock = ContinuousClock()

    var name: String { "grpc" }

    init(transport: GRPCClientTransport, key: String) {
        sessions = SessionServiceClient(transport: transport)
        processes = ProcessServiceClient(transport: transport)
        var metadata = Metadata()
        metadata.add("authorization", "Bearer \(key)")
        self.metadata = metadata
    }

    /// CreateSession as `POST /v1/sessions {"image":"default","network":"none"}` asks for it.
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

    /// ProcessService.Exec: the start message, then the half-close (stdin closed, as the WebSocket
    /// side's `06` frame closes it); responses until the call ends.
    func exec(in id: String, _ argv: [String], keep: Bool) async throws -> ExecOutcome {
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
                    case .exit(let exit):
                        outcome.exited = clock.now
                        switch exit.reason {
                        case .exited: outcome.exitCode = exit.exitCode
                        case .signaled: outcome.exitCode = 128 + Int32(exit.signal)
                        default: outcome.problems.append("exit \(exit.reason)")
                        }
                    case .error(let error): outcome.problems.append("stream error \(error.code): \(error.message)")
                    case .started, nil: break
                    }
                }
                return outcome
            }
        )
    }

    func kill(_ id: String) async throws {
        _ = try await sessions.killSession(.with { $0.sessionId = id }, metadata: metadata)
    }

    /// Sessions of the account still pending or running (both sides use the same account).
    func live() async throws -> [String] {
        let request = ListSessionsRequest.with { $0.statuses = [.pending, .building, .running, .stopping] }
        return try await sessions.listSessions(request, metadata: metadata).sessions.map(\.id)
    }
}
