/// Whether a unit of work writes.
package enum TransactionKind: Sendable {
    /// Statements run one by one, each on its own snapshot, with no explicit transaction.
    case read
    /// One transaction: every write in the body lands, or none does. SQLite takes the write
    /// lock at the start (BEGIN IMMEDIATE); PostgreSQL runs READ COMMITTED and the body locks
    /// the rows it counts on.
    case write
    /// A `write` whose commit does not wait for the disk (SQLite: `synchronous = NORMAL` for this
    /// transaction; PostgreSQL: `synchronous_commit = off`). It is visible at once and survives a
    /// crash of this process; an OS crash or power loss may lose it, unless a later synced commit
    /// came first: the log is written in order, so syncing a later commit syncs it too.
    case writeDeferringSync
}
