import ExecboxStorage
import Foundation

/// A PostgreSQL server of a test's own (scripts/with-postgres --start), for tests that restart
/// the server or kill its backends and so must not share it with other tests.
final class PrivatePostgres: Sendable {
    let url: String
    private let control: String
    private let directory: String

    init() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let output = try Shell.run(root.appendingPathComponent("scripts/with-postgres").path, ["--start"])
        var values: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        guard let url = values["URL"], let control = values["CTL"], let directory = values["DIR"] else {
            throw StorageError(code: .configuration, message: "scripts/with-postgres --start printed: \(output)")
        }
        self.url = url
        self.control = control
        self.directory = directory
    }

    /// Stops the postmaster (fast: active backends are ended) and starts it again.
    func restart() throws {
        try Shell.run(control, ["restart", "-m", "fast"])
    }

    /// Ends every backend connected to the database except the caller's own.
    func killBackends() throws {
        try Shell.run(
            "psql",
            [
                "-q", "-tA", url, "-c",
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
            ]
        )
    }

    deinit {
        _ = try? Shell.run(control, ["stop", "-m", "immediate"])
        try? FileManager.default.removeItem(atPath: directory)
    }
}
