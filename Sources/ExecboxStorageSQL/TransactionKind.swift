/// Whether a unit of work writes.
package enum TransactionKind: Sendable {
    /// Statements run one by one, each on its own snapshot, with no explicit transaction.
    case read
    /// One transaction: every write in the body lands, or none does. SQLite takes the write
    /// lock at the start (BEGIN IMMEDIATE); PostgreSQL runs READ COMMITTED and the body locks
    /// the rows it counts on.
    case write
}
