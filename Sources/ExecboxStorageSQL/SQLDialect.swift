/// The few places where SQLite and PostgreSQL need different SQL; everything else is shared.
package enum SQLDialect: String, Sendable {
    case sqlite, postgres

    /// Appended to a SELECT that reads a row the transaction will change or count on. SQLite's
    /// BEGIN IMMEDIATE already holds the only write lock.
    package var forUpdate: String {
        self == .postgres ? " FOR UPDATE" : ""
    }

    /// Serializes migrations between servers that start at the same time.
    package var migrationLock: String? {
        self == .postgres ? "SELECT pg_advisory_xact_lock(5145000001)" : nil
    }

    package var migrations: [Migration] {
        self == .postgres ? Migration.postgres : Migration.sqlite
    }
}
