/// One database connection, used only by the thread that owns it.
package protocol SQLConnection: AnyObject {
    var dialect: SQLDialect { get }

    /// Runs one statement (prepared once per connection and cached) with bound parameters
    /// `$1…$n`, and returns every result row.
    func query(_ sql: String, _ binds: [SQLValue]) throws -> [SQLRow]

    /// Runs a multi-statement script without parameters: the embedded migrations only.
    func executeScript(_ sql: String) throws
}

extension SQLConnection {
    package func query(_ sql: String, _ binds: SQLValue...) throws -> [SQLRow] {
        try query(sql, binds)
    }

    /// The first row, or nil.
    package func queryFirst(_ sql: String, _ binds: [SQLValue]) throws -> SQLRow? {
        try query(sql, binds).first
    }
}
