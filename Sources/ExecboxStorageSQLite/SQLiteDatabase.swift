import ExecboxStorage
import ExecboxStorageSQL
import Synchronization

/// SQLite behind dedicated threads: one writer thread owns the only connection that writes
/// (every write a BEGIN IMMEDIATE transaction), and a few reader threads own `query_only`
/// connections, so that reads run beside a commit's fsync instead of queueing behind it (WAL
/// lets readers and the writer proceed together). After an I/O error or corruption the
/// database refuses all further work until it is reopened (fail-stop).
final class SQLiteDatabase: SQLDatabase {
    let dialect = SQLDialect.sqlite
    private let path: String
    private let busyTimeoutMs: Int32
    private let writer: WorkerThreads
    private let readers: WorkerThreads
    private let writerSlot = Slot()
    private let readerSlots: [Slot]
    private let failure = Mutex<StorageError?>(nil)

    /// A thread's connection; touched only by that thread.
    private final class Slot: @unchecked Sendable {
        var connection: SQLiteConnection?
    }

    private init(path: String, busyTimeoutMs: Int32, readerCount: Int) {
        self.path = path
        self.busyTimeoutMs = busyTimeoutMs
        writer = WorkerThreads(name: "execbox-sqlite-writer", count: 1)
        readers = WorkerThreads(name: "execbox-sqlite-reader", count: readerCount)
        readerSlots = (0..<readerCount).map { _ in Slot() }
    }

    static func open(path: String, busyTimeoutMs: Int32, readerCount: Int = 2) async throws -> SQLiteDatabase {
        let database = SQLiteDatabase(path: path, busyTimeoutMs: busyTimeoutMs, readerCount: max(1, readerCount))
        let slot = database.writerSlot
        do {
            try await database.writer.submit { _ in
                do {
                    slot.connection = try SQLiteConnection(path: path, busyTimeoutMs: busyTimeoutMs)
                } catch let failure as SQLiteFailure {
                    throw failure.storageError
                }
            }
        } catch {
            await database.writer.shutdown()
            await database.readers.shutdown()
            throw error
        }
        return database
    }

    func perform<T: Sendable>(
        _ kind: TransactionKind,
        _ body: @escaping @Sendable (any SQLConnection) throws -> T
    ) async throws -> T {
        switch kind {
        case .write, .writeDeferringSync:
            let slot = writerSlot
            return try await writer.submit { _ in try self.run(kind, body, in: slot, queryOnly: false) }
        case .read:
            let slots = readerSlots
            return try await readers.submit { index in try self.run(kind, body, in: slots[index], queryOnly: true) }
        }
    }

    private func run<T>(
        _ kind: TransactionKind,
        _ body: (any SQLConnection) throws -> T,
        in slot: Slot,
        queryOnly: Bool
    ) throws -> T {
        if let failure = failure.withLock({ $0 }) { throw failure }
        do {
            if slot.connection == nil {
                // Readers connect on first use, after the writer has created and migrated the file.
                guard queryOnly else { throw StorageError(code: .unavailable, message: "the store is closed") }
                slot.connection = try SQLiteConnection(path: path, busyTimeoutMs: busyTimeoutMs, queryOnly: true)
            }
            guard let connection = slot.connection else { throw StorageError(code: .unavailable, message: "closed") }
            return try Self.run(kind, body, on: connection)
        } catch let sqlite as SQLiteFailure {
            if sqlite.isFatal {
                let stop = StorageError(
                    code: .ioFailure,
                    message: "the database had an I/O error and accepts no work until it is reopened",
                    cause: sqlite.storageError
                )
                failure.withLock { $0 = $0 ?? stop }
            }
            throw sqlite.storageError
        }
    }

    private static func run<T>(
        _ kind: TransactionKind,
        _ body: (any SQLConnection) throws -> T,
        on connection: SQLiteConnection
    ) throws -> T {
        switch kind {
        case .read:
            return try body(connection)
        case .write:
            return try transaction(body, on: connection)
        case .writeDeferringSync:
            // The setting cannot change inside a transaction; every other write keeps FULL.
            try connection.executeScript("PRAGMA synchronous = NORMAL")
            let result = Result { try transaction(body, on: connection) }
            try connection.executeScript("PRAGMA synchronous = FULL")
            return try result.get()
        }
    }

    private static func transaction<T>(_ body: (any SQLConnection) throws -> T, on connection: SQLiteConnection)
        throws -> T
    {
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
        failure.withLock { $0 = $0 ?? StorageError(code: .unavailable, message: "the store is closed") }
        let slots = readerSlots
        for _ in slots {
            _ = try? await readers.submit { index in
                slots[index].connection?.close()
                slots[index].connection = nil
            }
        }
        await readers.shutdown()
        for slot in slots {
            slot.connection?.close()
            slot.connection = nil
        }
        let writerSlot = self.writerSlot
        _ = try? await writer.submit { _ in
            writerSlot.connection?.close()
            writerSlot.connection = nil
        }
        await writer.shutdown()
    }
}
