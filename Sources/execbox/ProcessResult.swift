import ExecboxAPI
import ExecboxGateway

/// How a process run through the CLI ended, and the status the CLI exits with.
struct ProcessResult: Sendable {
    var processID: String
    var exit: ExitStatus

    /// The process's exit code; 128+N when signal N ended it (the server reports it so);
    /// 255 when the server lost track of it.
    var exitCode: Int32 {
        if (0...255).contains(exit.exitCode) { return exit.exitCode }
        if exit.signal > 0 { return 128 + Int32(exit.signal) }
        return 255
    }

    /// A line for stderr when the process did not simply exit or die of a signal it got.
    var explanation: String? {
        let detail = exit.message.isEmpty ? "" : ": \(exit.message)"
        switch exit.reason {
        case .startFailed: return "the command could not be started\(detail)"
        case .oomKilled: return "the process ran out of memory (the session's limit)\(detail)"
        case .timeout: return "the process was killed at its time limit\(detail)"
        case .idleTimeout: return "the session was stopped after being idle\(detail)"
        case .lost: return "the server lost track of the process; its outcome is unknown\(detail)"
        case .killed: return "the process was killed\(detail)"
        default: return nil
        }
    }

    var json: JSONValue {
        var object = JSONObject()
        object.add("process_id", processID)
        object.add("exitCode", Int64(exit.exitCode))
        object.add("reason", LegacyJSON.name(exit.reason, prefix: "EXIT_REASON_", unspecified: "unknown"))
        if exit.signal > 0 { object.add("signal", Int64(exit.signal)) }
        object.add("duration_ms", exit.durationMs)
        object.add("message", ifNotEmpty: exit.message)
        return object.value
    }
}
