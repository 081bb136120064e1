import ExecboxStorage
import ExecboxStorageSQL
import Foundation
import Testing

@Suite("Migrations")
struct MigrationTests {
    @Test("each migration applies once and is recorded with its checksum", arguments: StoreBackend.all)
    func appliedOnce(backend: StoreBackend) async throws {
        let key = StorageKey.random()
        try await backend.withStore(key: key) { test in
            let rows = try await test.store.database.perform(.read) { connection in
                try connection.query("SELECT version, checksum FROM schema_migrations ORDER BY version", []).map {
                    var row = $0
                    return "\(try row.int()):\(try row.string())"
                }
            }
            let expected = backend.dialect.migrations.map { "\($0.version):\($0.checksum)" }
            #expect(rows == expected)
            // A second open applies nothing and keeps the data.
            let again = try await backend.reopen(test, key: key)
            let applied = try await MigrationRunner(migrations: backend.dialect.migrations)
                .run(on: again.database, now: { 0 })
            #expect(applied.isEmpty)
            await again.close()
        }
    }

    @Test("a changed migration refuses to start", arguments: StoreBackend.all)
    func checksumMismatch(backend: StoreBackend) async throws {
        let key = StorageKey.random()
        try await backend.withStore(key: key) { test in
            try await test.store.database.perform(.write) { connection in
                _ = try connection.query("UPDATE schema_migrations SET checksum = $1 WHERE version = 1", [.text("0")])
            }
            let error = await #expect(throws: StorageError.self) { try await backend.reopen(test, key: key) }
            #expect(error?.code == .migrationMismatch)
        }
    }

    @Test("a database newer than the code refuses to start", arguments: StoreBackend.all)
    func newerDatabase(backend: StoreBackend) async throws {
        let key = StorageKey.random()
        try await backend.withStore(key: key) { test in
            try await test.store.database.perform(.write) { connection in
                _ = try connection.query(
                    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (9999, 'future', 'x', 0)",
                    []
                )
            }
            let error = await #expect(throws: StorageError.self) { try await backend.reopen(test, key: key) }
            #expect(error?.code == .schemaTooNew)
        }
    }

    @Test("a failing migration leaves nothing behind")
    func failingMigrationRollsBack() async throws {
        try await StoreBackend.sqlite.withStore { test in
            let broken =
                backendMigrations(.sqlite) + [
                    Migration(
                        version: Migration.sqlite.count + 1,
                        name: "broken",
                        sql: "CREATE TABLE half_done (x INTEGER); SELECT * FROM missing;"
                    )
                ]
            await #expect(throws: StorageError.self) {
                try await MigrationRunner(migrations: broken).run(on: test.store.database, now: { 0 })
            }
            let tables = try await test.store.database.perform(.read) { connection in
                try connection.query("SELECT name FROM sqlite_master WHERE name = 'half_done'", []).count
            }
            #expect(tables == 0)
        }
    }

    @Test("the embedded SQL is exactly migrations/ on disk")
    func embeddedMatchesFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        for dialect in [SQLDialect.sqlite, .postgres] {
            let folder = root.appendingPathComponent("migrations/\(dialect.rawValue)")
            let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }
                .sorted()
            #expect(files.count == dialect.migrations.count)
            for (file, migration) in zip(files, dialect.migrations) {
                let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                #expect(text == migration.sql, "\(dialect.rawValue)/\(file) differs: run scripts/generate-migrations")
                #expect(file == String(format: "%04d_%@.sql", migration.version, migration.name))
            }
        }
    }

    @Test("both dialects have the same versions")
    func dialectVersionsInStep() {
        #expect(Migration.sqlite.map(\.version) == Migration.postgres.map(\.version))
        #expect(Migration.sqlite.map(\.name) == Migration.postgres.map(\.name))
        #expect(Migration.sqlite.map(\.version) == Array(1...Migration.sqlite.count))
    }

    @Test("both dialects create the same tables, columns and nullability", arguments: StoreBackend.postgresOnly)
    func dialectSchemasInStep(backend: StoreBackend) async throws {
        let sqliteColumns = try await StoreBackend.sqlite.withStore { test in
            try await test.store.database.perform(.read) { connection in
                var columns: Set<String> = []
                let tables = try connection.query(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                    []
                )
                for var table in tables {
                    let name = try table.string()
                    // PRAGMA takes no parameters; the table names come from sqlite_master.
                    for var column in try connection.query("PRAGMA table_info(\(name))", []) {
                        _ = try column.int()
                        let columnName = try column.string()
                        _ = try column.optionalString()
                        let notNull = try column.bool()
                        _ = try? column.optionalString()
                        let primaryKey = try column.int() > 0
                        columns.insert("\(name).\(columnName) \(notNull || primaryKey ? "not null" : "null")")
                    }
                }
                return columns
            }
        }
        let postgresColumns = try await backend.withStore { test in
            try await test.store.database.perform(.read) { connection in
                Set(
                    try connection.query(
                        """
                        SELECT table_name, column_name, is_nullable FROM information_schema.columns
                        WHERE table_schema = 'public'
                        """,
                        []
                    ).map {
                        var row = $0
                        let table = try row.string()
                        let column = try row.string()
                        return "\(table).\(column) \(try row.string() == "NO" ? "not null" : "null")"
                    }
                )
            }
        }
        #expect(!sqliteColumns.isEmpty)
        #expect(sqliteColumns.subtracting(postgresColumns).sorted() == [])
        #expect(postgresColumns.subtracting(sqliteColumns).sorted() == [])
    }
}

private func backendMigrations(_ dialect: SQLDialect) -> [Migration] { dialect.migrations }

extension StoreBackend {
    var dialect: SQLDialect { self == .sqlite ? .sqlite : .postgres }
}
