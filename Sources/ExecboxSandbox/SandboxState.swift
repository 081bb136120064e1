/// Where a sandbox is in its life. `SandboxStateMachine` decides the moves.
///
///     creating ──▶ running ──▶ stopping ──▶ stopped | killed | timedOut
///        │            │           │
///        └────────────┴───────────┴──▶ failed | lost
public enum SandboxState: String, Hashable, Sendable, CaseIterable {
    /// The runtime is creating the container; the main process has not started.
    case creating
    /// The main process runs; execs are allowed.
    case running
    /// A stop, kill or timeout is in progress (transient).
    case stopping
    /// The main process exited 0, or the sandbox was stopped gracefully on request.
    case stopped
    /// Creation failed, or the main process exited non-zero, died of a signal or was OOM-killed.
    case failed
    /// Force-killed and destroyed on request.
    case killed
    /// Its wall-clock timeout ended it.
    case timedOut
    /// The backend lost track of it (its runtime state vanished, or it could not be adopted).
    case lost

    public var isTerminal: Bool {
        switch self {
        case .creating, .running, .stopping: false
        case .stopped, .failed, .killed, .timedOut, .lost: true
        }
    }
}
