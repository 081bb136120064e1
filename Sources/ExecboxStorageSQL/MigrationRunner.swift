import ExecboxStorage

/// Brings a database to the schema this build carries. Refuses to run against a database that
/// has a migration whose checksum differs from the embedded one, or one newer than the code.
package struct MigrationRunner: Sendable {
    package let migrations: [Migration]

    package init(migrations: [Migration]) {
        self.migrations = migrations
    }

    private static let versionTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            checksum TEXT NOT NULL,
            applied_at BIGINT NOT NULL
        )
        """

    /// Applies every pending migration; returns the versions it applied.
    @discardableResult
    package func run(on database: any SQLDatabase, now: @escaping @Sendable () -> Int64) async throws -> [Int] {
        let migrations = self.migrations
        return try await database.perform(.write) { connection in
            if let lock = connection.dialect.migrationLock { _ = try connection.query(lock, []) }
            try connection.executeScript(Self.versionTable)
            return try Self.applyPending(migrations, on: connection, now: now())
        }
    }

    /// Everything in one transaction: a failing migration leaves the database as it was.
    private static func applyPending(_ migrations: [Migration], on connection: any SQLConnection, now: Int64) throws
        -> [Int]
    {
        var applied: [Int: String] = [:]
        for var row in try connection.query("SELECT version, checksum FROM schema_migrations ORDER BY version", []) {
            applied[try row.int()] = try row.string()
        }
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        let newest = migrations.map(\.version).max() ?? 0
        for (version, checksum) in applied.sorted(by: { $0.key < $1.key }) {
            guard version <= newest else {
                throw StorageError(
                    code: .schemaTooNew,
                    message: "the database has migration \(version); this build knows up to \(newest)"
                )
            }
            guard let migration = known[version], migration.checksum == checksum else {
                throw StorageError(
                    code: .migrationMismatch,
                    message: "migration \(version) in the database differs from the one in this build"
                )
            }
        }
        var done: [Int] = []
        for migration in migrations.sorted(by: { $0.version < $1.version }) where applied[migration.version] == nil {
            try connection.executeScript(migration.sql)
            _ = try connection.query(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
                [.int(migration.version), .text(migration.name), .text(migration.checksum), .integer(now)]
            )
            done.append(migration.version)
        }
        return done
    }
}
