import ExecboxStorage

/// One embedded migration: applied once, in order, inside a transaction, and recorded in
/// `schema_migrations` with the SHA-256 of its text.
package struct Migration: Hashable, Sendable {
    package let version: Int
    package let name: String
    package let sql: String

    package init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    package var checksum: String { Digest.sha256Hex(sql) }
}
