import ExecboxStorage
import ExecboxStorageSQL

/// A pool of libpq connections, each owned by one dedicated worker thread, so blocking libpq
/// calls never run on Swift concurrency's cooperative pool. A broken connection is dropped and
/// replaced on the next job; work that failed because of it reports `.unavailable` (retryable)
/// unless nothing had been sent yet, in which case it is retried once on a fresh connection.
final class PostgresDatabase: SQLDatabase {
    let dialect = SQLDialect.postgres
    private let settings: PostgresSettings
    private let threads: WorkerThreads
    private let slots: [Slot]

    /// A worker's connection; touched only by that worker's thread.
    private final class Slot: @unchecked Sendable {
        var connection: PostgresConnection?
    }

    init(settings: PostgresSettings) {
        self.settings = settings
        self.threads = WorkerThreads(name: "execbox-postgres", count: settings.poolSize)
        self.slots = (0..<settings.poolSize).map { _ in Slot() }
    }

    func perform<T: Sendable>(
        _ kind: TransactionKind,
        _ body: @escaping @Sendable (any SQLConnection) throws -> T
    ) async throws -> T {
        let slots = self.slots
        let settings = self.settings
        return try await threads.submit { index in
            let slot = slots[index]
            var attempt = 0
            while true {
                attempt += 1
                do {
                    let connection = try Self.connection(in: slot, settings: settings)
                    return try Self.run(kind, body, on: connection)
                } catch let failure as PostgresFailure {
                    if failure.connectionLost { slot.connection = nil }
                    // A stale pooled connection (the server restarted while it idled) fails on
                    // its first statement; a read wrote nothing, so one retry is safe.
                    if attempt < 2 && failure.connectionLost && kind == .read { continue }
                    if attempt < 4 && failure.isSerializationFailure { continue }
                    throw failure.storageError
                } catch let stage as TransactionStage {
                    // `BEGIN` failed on a dead connection: safe to retry once.
                    slot.connection = nil
                    if attempt < 2 { continue }
                    throw stage.failure.storageError
                }
            }
        }
    }

    private struct TransactionStage: Error {
        var failure: PostgresFailure
    }

    private static func connection(in slot: Slot, settings: PostgresSettings) throws -> PostgresConnection {
        if let connection = slot.connection, !connection.isBroken { return connection }
        slot.connection = nil
        let connection = try PostgresConnection(settings: settings)
        slot.connection = connection
        return connection
    }

    private static func run<T>(
        _ kind: TransactionKind,
        _ body: (any SQLConnection) throws -> T,
        on connection: PostgresConnection
    ) throws -> T {
        guard kind != .read else { return try body(connection) }
        do {
            try connection.executeScript("BEGIN")
        } catch let failure as PostgresFailure where failure.connectionLost {
            throw TransactionStage(failure: failure)
        }
        do {
            // For this transaction only: it ends with the COMMIT or ROLLBACK.
            if kind == .writeDeferringSync { try connection.executeScript("SET LOCAL synchronous_commit TO OFF") }
            let result = try body(connection)
            try connection.executeScript("COMMIT")
            return result
        } catch {
            if !connection.isBroken { try? connection.executeScript("ROLLBACK") }
            throw error
        }
    }

    func close() async {
        let slots = self.slots
        for _ in slots {
            _ = try? await threads.submit { index in slots[index].connection = nil }
        }
        await threads.shutdown()
        for slot in slots { slot.connection = nil }
    }
}
