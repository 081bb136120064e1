public import ExecboxStorage
public import ExecboxStorageSQL

extension SQLStore {
    /// Opens (creating if needed) the SQLite database at `path` and migrates it. `key`
    /// encrypts secrets at rest; see `StorageKey.loadOrCreate(at:)` for the data-directory key.
    public static func sqlite(path: String, key: StorageKey, busyTimeoutMs: Int32 = 5_000) async throws -> SQLStore {
        try await open(database: try await SQLiteDatabase.open(path: path, busyTimeoutMs: busyTimeoutMs), key: key)
    }
}
