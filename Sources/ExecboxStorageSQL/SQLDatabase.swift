/// Whether a unit of work writes.
package enum TransactionKind: Sendable {
    /// Statements run one by one, each on its own snapshot, with no explicit transaction.
    case read
    /// One transaction: every write in the body lands, or none does. SQLite takes the write
    /// lock at the start (BEGIN IMMEDIATE); PostgreSQL runs READ COMMITTED and the body locks
    /// the rows it counts on.
    case write
}

/// A database the SQL store runs its work on. Bodies run on a dedicated thread that owns the
/// connection, never on Swift concurrency's cooperative pool, so a slow statement blocks no task.
package protocol SQLDatabase: Sendable {
    var dialect: SQLDialect { get }

    func perform<T: Sendable>(
        _ kind: TransactionKind,
        _ body: @escaping @Sendable (any SQLConnection) throws -> T
    ) async throws -> T

    func close() async
}
