public import ExecboxStorage
import Foundation

/// The Execbox store over SQL, one implementation for both dialects: the statements are shared
/// and `SQLDialect` covers the few differences. Every method is one unit of work on the
/// database's dedicated threads; methods that write several rows do so in one transaction.
public final class SQLStore: ExecboxStore {
    package let database: any SQLDatabase
    package let box: SecretBox

    package init(database: any SQLDatabase, key: StorageKey) {
        self.database = database
        self.box = SecretBox(key: key)
    }

    /// Migrates `database` to this build's schema, then returns the store over it.
    package static func open(database: any SQLDatabase, key: StorageKey) async throws -> SQLStore {
        do {
            try await MigrationRunner(migrations: database.dialect.migrations)
                .run(on: database, now: { Micros.from(Date()) })
        } catch {
            await database.close()
            throw error
        }
        return SQLStore(database: database, key: key)
    }

    public func close() async {
        await database.close()
    }

    package func write<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await database.perform(.write, body)
    }

    /// A write whose commit does not wait for the disk (``TransactionKind/writeDeferringSync``).
    package func writeDeferringSync<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T)
        async throws -> T
    {
        try await database.perform(.writeDeferringSync, body)
    }

    package func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await database.perform(.read, body)
    }
}
