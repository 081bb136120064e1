import ExecboxStorage
import ExecboxStorageSQL
import Synchronization

/// SQLite behind one dedicated thread that owns the only connection: every read and write is
/// serialized there, writes in BEGIN IMMEDIATE transactions. After an I/O error or corruption
/// the database refuses all further work until it is reopened (fail-stop).
final class SQLiteDatabase: SQLDatabase {
    let dialect = SQLDialect.sqlite
    private let threads: WorkerThreads
    private let slot: Slot

    /// The connection and the fail-stop state; touched only on the worker thread.
    private final class Slot: @unchecked Sendable {
        var connection: SQLiteConnection?
        var failure: StorageError?
    }

    private init(threads: WorkerThreads, slot: Slot) {
        self.threads = threads
        self.slot = slot
    }

    static func open(path: String, busyTimeoutMs: Int32) async throws -> SQLiteDatabase {
        let database = SQLiteDatabase(threads: WorkerThreads(name: "execbox-sqlite", count: 1), slot: Slot())
        let slot = database.slot
        do {
            try await database.threads.submit { _ in
                do {
                    slot.connection = try SQLiteConnection(path: path, busyTimeoutMs: busyTimeoutMs)
                } catch let failure as SQLiteFailure {
                    throw failure.storageError
                }
            }
        } catch {
            await database.threads.shutdown()
            throw error
        }
        return database
    }

    func perform<T: Sendable>(
        _ kind: TransactionKind,
        _ body: @escaping @Sendable (any SQLConnection) throws -> T
    ) async throws -> T {
        let slot = self.slot
        return try await threads.submit { _ in
            if let failure = slot.failure { throw failure }
            guard let connection = slot.connection else {
                throw StorageError(code: .unavailable, message: "the store is closed")
            }
            do {
                return try Self.run(kind, body, on: connection)
            } catch let failure as SQLiteFailure {
                if failure.isFatal {
                    slot.failure = StorageError(
                        code: .ioFailure,
                        message: "the database had an I/O error and accepts no work until it is reopened",
                        cause: failure.storageError
                    )
                }
                throw failure.storageError
            }
        }
    }

    private static func run<T>(
        _ kind: TransactionKind,
        _ body: (any SQLConnection) throws -> T,
        on connection: SQLiteConnection
    ) throws -> T {
        guard kind == .write else { return try body(connection) }
        try connection.executeScript("BEGIN IMMEDIATE")
        do {
            let result = try body(connection)
            try connection.executeScript("COMMIT")
            return result
        } catch {
            try? connection.executeScript("ROLLBACK")
            throw error
        }
    }

    func close() async {
        let slot = self.slot
        _ = try? await threads.submit { _ in
            slot.connection?.close()
            slot.connection = nil
        }
        await threads.shutdown()
    }
}
