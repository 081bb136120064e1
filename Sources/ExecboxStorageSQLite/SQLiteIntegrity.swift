import CSQLite
import ExecboxStorage
import ExecboxStorageSQL

/// Checks of a SQLite database file, for start-up and for the crash tests.
public enum SQLiteIntegrity {
    /// Problems `PRAGMA integrity_check` and `PRAGMA foreign_key_check` report; empty when sound.
    /// Opens its own short-lived connection through SQLite (never reads the file itself).
    public static func problems(path: String) throws -> [String] {
        let connection: SQLiteConnection
        do {
            connection = try SQLiteConnection(path: path, busyTimeoutMs: 5_000)
        } catch let failure as SQLiteFailure {
            throw failure.storageError
        }
        defer { connection.close() }
        do {
            var problems: [String] = []
            for var row in try connection.query("PRAGMA integrity_check", []) {
                let line = try row.string()
                if line != "ok" { problems.append(line) }
            }
            for row in try connection.query("PRAGMA foreign_key_check", []) {
                problems.append("foreign key violation: \(row.values)")
            }
            return problems
        } catch let failure as SQLiteFailure {
            throw failure.storageError
        }
    }
}
