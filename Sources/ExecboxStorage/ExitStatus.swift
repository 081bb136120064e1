/// How a session's main process ended.
public struct ExitStatus: Hashable, Sendable {
    /// Why the process ended; raw values are stored.
    public enum Reason: String, Hashable, Sendable {
        case exited, signaled, oomKilled = "oom_killed", timeout, idleTimeout = "idle_timeout", killed
        case startFailed = "start_failed", lost
    }

    /// Exit code; negative values (signal-style) are allowed, unlike the legacy CHECK.
    public var code: Int?
    public var signal: Int?
    public var reason: Reason
    public var oomKilled: Bool

    public init(code: Int?, signal: Int? = nil, reason: Reason, oomKilled: Bool = false) {
        self.code = code
        self.signal = signal
        self.reason = reason
        self.oomKilled = oomKilled
    }
}
