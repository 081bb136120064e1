/// How a process (an exec or a sandbox's main process) ended.
public struct ProcessExit: Hashable, Sendable, CustomStringConvertible {
    public enum Reason: String, Hashable, Sendable {
        /// It called exit(); `code` holds the status.
        case exited
        /// It died of a signal it did not handle; `signal` holds it.
        case signaled
        /// The kernel's OOM killer ended it inside the sandbox's memory limit.
        case oomKilled
        /// A wall-clock timeout (the exec's or the sandbox's) fired and it was killed.
        case timeout
        /// The sandbox's idle timeout fired and it was stopped.
        case idleTimeout
        /// An API call ended it (stop, kill, cancelled foreground exec).
        case killed
        /// It could not be started; `code` is 127 or 126 as a shell reports.
        case startFailed
        /// The backend lost track of it.
        case lost
    }

    public var reason: Reason
    /// The exit status for `exited` and `startFailed`; for signal deaths the shell convention 128+n.
    public var code: Int32
    /// The signal that ended it, if one did.
    public var signal: Int32?

    public init(reason: Reason, code: Int32, signal: Int32? = nil) {
        self.reason = reason
        self.code = code
        self.signal = signal
    }

    public static func exited(_ code: Int32) -> ProcessExit { ProcessExit(reason: .exited, code: code) }

    public static func signaled(_ signal: Int32) -> ProcessExit {
        ProcessExit(reason: .signaled, code: 128 + signal, signal: signal)
    }

    public var description: String {
        switch reason {
        case .exited: "exited \(code)"
        case .signaled: "signal \(signal ?? 0)"
        default: "\(reason.rawValue) (\(code))"
        }
    }
}
