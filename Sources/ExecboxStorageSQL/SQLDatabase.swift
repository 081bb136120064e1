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
