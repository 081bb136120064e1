import ArgumentParser
import ExecboxStorage
import ExecboxStoragePostgres
import ExecboxStorageSQL
import ExecboxStorageSQLite
import Foundation

/// Imports a legacy execbox-cloud database into an Execbox store. The same function will back
/// `execbox-server import-legacy` once the server executable exists.
@main
struct ImportLegacyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "execbox-import-legacy",
        abstract: "Import accounts, keys, sessions, usage and quota requests from execbox-cloud.",
        discussion: """
            Keys are hashed on the way in, so legacy sk_ keys keep working. Safe to run again: rows \
            imported before are skipped. See docs/storage.md.
            """
    )

    @Option(help: "The legacy PostgreSQL database (postgres://…).")
    var from: String

    @Option(help: "The Execbox store: sqlite:<path> or postgres://….")
    var to: String

    @Option(help: "File with the base64 storage key; created if missing (default: storage.key next to a SQLite file).")
    var keyFile: String?

    @Option(help: "Environment variable that holds the base64 storage key instead of a file.")
    var keyEnv: String?

    func validate() throws {
        guard to.hasPrefix("sqlite:") || to.hasPrefix("postgres://") || to.hasPrefix("postgresql://") else {
            throw ValidationError("--to must be sqlite:<path> or a postgres:// URL")
        }
    }

    func run() async throws {
        let key = try storageKey()
        let store: SQLStore =
            if to.hasPrefix("sqlite:") {
                try await SQLStore.sqlite(path: String(to.dropFirst("sqlite:".count)), key: key)
            } else {
                try await SQLStore.postgres(settings: PostgresSettings(url: to), key: key)
            }
        let source = try await PostgresLegacySource.connect(url: from)
        let outcome = await Result { try await LegacyImporter(source: source, store: store).run(now: Date()) }
        await source.close()
        await store.close()
        let report = try outcome.get()
        print(
            """
            imported: \(report.accounts) accounts, \(report.keys) keys, \(report.sessions) sessions \
            (\(report.sessionsEndedOnImport) ended on import), \(report.usageRows) usage rows, \
            \(report.quotaRequests) quota requests; skipped: \(report.skipped)
            """
        )
    }

    private func storageKey() throws -> StorageKey {
        if let keyEnv {
            guard let value = ProcessInfo.processInfo.environment[keyEnv] else {
                throw ValidationError("the environment variable \(keyEnv) is not set")
            }
            return try StorageKey(base64: value)
        }
        if let keyFile { return try StorageKey.loadOrCreate(at: keyFile) }
        guard to.hasPrefix("sqlite:") else {
            throw ValidationError("a PostgreSQL target needs --key-file or --key-env")
        }
        let path = URL(fileURLWithPath: String(to.dropFirst("sqlite:".count)))
        return try StorageKey.loadOrCreate(
            at: path.deletingLastPathComponent().appendingPathComponent("storage.key").path)
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
