import ExecboxSandbox
import FoundationEssentials

/// What a next server needs to take an exec over, held by the sandbox monitor's keeper with the
/// exec's descriptors (`ExecKeeper.keep`), and with the exit once its output was drained
/// (`ExecKeeper.end`); forgotten with the exec. Its output is in its spool file.
struct ExecRecord: Codable, Sendable {
    struct Exit: Codable, Sendable {
        var reason: String
        var code: Int32
        var signal: Int32?
    }

    var id: String
    var argv: [String]
    var tty: Bool
    /// The sandbox's main process.
    var main: Bool
    /// Its pid inside the sandbox.
    var pid: Int32?
    /// Wall-clock seconds since 1970.
    var startedAt: Double
    /// The exec's own timeout, if any (what is left of it is re-armed by the next server).
    var timeoutSeconds: Double?
    var oomKillsAtStart: Int
    var exit: Exit?
    var runTimeSeconds: Double?
    /// Its output goes through staging pipes (`StagedOutput`), which the keeper holds too.
    var staged: Bool?

    var processExit: ProcessExit? {
        exit.map { exit in
            ProcessExit(
                reason: ProcessExit.Reason(rawValue: exit.reason) ?? .lost, code: exit.code, signal: exit.signal)
        }
    }

    mutating func setExit(_ exit: ProcessExit, runTime: Duration) {
        self.exit = Exit(reason: exit.reason.rawValue, code: exit.code, signal: exit.signal)
        runTimeSeconds = Double(runTime.components.seconds) + Double(runTime.components.attoseconds) / 1e18
    }

    /// JSON for the keeper, within its message limit: a command line too long to fit keeps its first
    /// arguments (and says so with a last "…"). Empty if even that does not fit.
    var encoded: [UInt8] {
        let limit = ExecKeeper.maximumMessage - 128
        var record = self
        while true {
            let bytes = (try? JSONEncoder().encode(record)).map { Array($0) } ?? []
            if bytes.count <= limit { return bytes }
            guard record.argv.count > 1 else { return [] }
            record.argv = Array(record.argv.prefix(record.argv.count / 2)) + ["…"]
        }
    }

    init?(decoding bytes: [UInt8]) {
        guard let record = try? JSONDecoder().decode(ExecRecord.self, from: Data(bytes)) else { return nil }
        self = record
    }

    init(
        id: String, argv: [String], tty: Bool, main: Bool, pid: Int32?, startedAt: Double, timeoutSeconds: Double?,
        oomKillsAtStart: Int
    ) {
        self.id = id
        self.argv = argv
        self.tty = tty
        self.main = main
        self.pid = pid
        self.startedAt = startedAt
        self.timeoutSeconds = timeoutSeconds
        self.oomKillsAtStart = oomKillsAtStart
    }
}
