/// The message shapes every implementation benchmarks. The raw value is the name used on the
/// command line (`--shape`) and in the `BENCH` lines of scripts/bench-wire.
public enum Shape: String, CaseIterable, Sendable {
    /// `execbox.v1.OutputChunk` carrying 32 KiB of process output.
    case execOutput32k = "exec_output_32k"
    /// `execbox.v1.CreateSessionRequest` with a 20-entry env map and 10 ports.
    case createSession = "create_session"
    /// `execbox.v1.ListSessionsResponse` with 100 sessions.
    case listSessions100 = "list_sessions_100"
    /// `execbox.fixtures.v1.Nested`: a 6-level tree of fan-out 3, about 14 KiB encoded.
    case nested14k = "nested_14k"

    /// Whether the shape holds a `map` with more than one entry, whose encoded order follows
    /// each implementation's hash order: its bytes may differ, its size and value may not.
    public var hasMultiEntryMap: Bool {
        switch self {
        case .execOutput32k, .nested14k: false
        case .createSession, .listSessions100: true
        }
    }
}
