public import ExecboxStorage
public import ExecboxStorageSQL

extension SQLStore {
    /// Connects to PostgreSQL and migrates the database (concurrent starts serialize on an
    /// advisory lock). `key` encrypts secrets at rest.
    public static func postgres(settings: PostgresSettings, key: StorageKey) async throws -> SQLStore {
        try await open(database: PostgresDatabase(settings: settings), key: key)
    }
}
