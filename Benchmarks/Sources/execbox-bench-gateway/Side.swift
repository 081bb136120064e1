/// One way of driving the server: the REST gateway (HTTP/1.1 + WebSocket, ours) or gRPC (the peer).
/// Both sides do the same work per loop: create a session (image `default`, network none), exec a
/// command in it with stdin closed, read its output up to the exit, end the exec, kill the session.
protocol Side: Sendable {
    /// `rest` or `grpc`, for progress lines.
    var name: String { get }
    /// A new running session's id.
    func create() async throws -> String
    /// Exec of `argv` in the session until the exec has ended (the exit arrived and the stream or
    /// the WebSocket is closed). Keeps stdout when `keep`, else only counts it.
    func exec(in id: String, _ argv: [String], keep: Bool) async throws -> ExecOutcome
    /// Kills the session (the server destroys the sandbox within the call).
    func kill(_ id: String) async throws
}

/// What one exec saw, with the instants of its events on the benchmark's clock.
struct ExecOutcome: Sendable {
    /// The first stdout or stderr byte.
    var first: ContinuousClock.Instant?
    /// The exit (gRPC: the exit message; WebSocket: the Exit frame).
    var exited: ContinuousClock.Instant?
    /// Only for the WebSocket: the 101 response (the upgrade done, before any frame).
    var upgraded: ContinuousClock.Instant?
    var stdout: [UInt8] = []
    var bytes = 0
    /// The exit code as the legacy Exit frame carries it (a signal N is 128 + N).
    var exitCode: Int32?
    var problems: [String] = []

    var succeeded: Bool { exitCode == 0 && problems.isEmpty }

    var summary: String {
        ([exitCode.map { "exit \($0)" } ?? "no exit"] + problems).joined(separator: "; ")
    }
}
