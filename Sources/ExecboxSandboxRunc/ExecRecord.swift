import ExecboxSandbox
import FoundationEssentials
import Glibc

/// What a next server needs to take an exec over: `<spool directory>/<exec id>.record` (0600),
/// beside the exec's spool. Written when the exec's descriptors were left with the sandbox
/// monitor's keeper, and again with the exit once its output was drained; removed with the spool.
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

    static let suffix = ".record"

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

    /// Writes the record of an exec just started, whose spool is `spoolPath` (a new file: a server
    /// killed while writing it leaves a record that does not parse, read as no record).
    func writeStart(spoolPath: String) throws {
        try BundleWriter.writeFile(spoolPath + Self.suffix, Array(try JSONEncoder().encode(self)), mode: 0o600)
    }

    /// Replaces the record (through a rename: a reader sees the old record or the new one).
    func writeEnd(spoolPath: String) throws {
        let temporary = "\(spoolPath)\(Self.suffix).tmp"
        unlink(temporary)
        try BundleWriter.writeFile(temporary, Array(try JSONEncoder().encode(self)), mode: 0o600)
        guard rename(temporary, spoolPath + Self.suffix) == 0 else { throw SystemError("rename") }
    }

    /// Every record in a sandbox's spool directory, oldest exec first.
    static func readAll(in directory: String) -> [ExecRecord] {
        HostFiles.entries(in: directory).compactMap { name, isDirectory -> ExecRecord? in
            guard !isDirectory, name.hasSuffix(suffix),
                let bytes = HostFiles.read("\(directory)/\(name)", limit: 4 << 20),
                let record = try? JSONDecoder().decode(ExecRecord.self, from: Data(bytes)),
                "\(record.id)\(suffix)" == name, (try? ExecID(record.id)) != nil
            else { return nil }
            return record
        }.sorted { $0.startedAt < $1.startedAt }
    }
}
