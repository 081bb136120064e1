import CSQLite
import ExecboxStorage
import ExecboxStorageSQL

/// One SQLite connection, owned by the database's single thread: WAL, synchronous=FULL,
/// foreign keys on, a busy timeout, and a cache of prepared statements.
final class SQLiteConnection: SQLConnection {
    let dialect = SQLDialect.sqlite
    private let handle: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]

    init(path: String, busyTimeoutMs: Int32, queryOnly: Bool = false) throws {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            if let db { sqlite3_close_v2(db) }
            throw SQLiteFailure.error(code: rc, message: "cannot open the database")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMs)
        do {
            let mode = try query("PRAGMA journal_mode = WAL", [])
            var row = mode.first
            guard try row?.string().lowercased() == "wal" else {
                throw StorageError(code: .configuration, message: "the database cannot use write-ahead logging")
            }
            try executeScript("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF;")
            if queryOnly { try executeScript("PRAGMA query_only = ON") }
        } catch {
            close()
            throw error
        }
    }

    func close() {
        for statement in statements.values { sqlite3_finalize(statement) }
        statements = [:]
        sqlite3_close_v2(handle)
    }

    func query(_ sql: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (offset, value) in binds.enumerated() {
            try check(bind(value, at: Int32(offset + 1), to: statement), "cannot bind a parameter")
        }
        var rows: [SQLRow] = []
        let columns = sqlite3_column_count(statement)
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw failure(rc, "a statement failed") }
            rows.append(SQLRow(values: (0..<columns).map { column(statement, $0) }))
        }
        return rows
    }

    func executeScript(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        sqlite3_free(message)
        try check(rc, "a script failed")
    }

    /// Statements are keyed by their text; `$N` becomes SQLite's numbered `?N`.
    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, Self.numbered(sql), -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw failure(rc, "a statement cannot be prepared") }
        statements[sql] = statement
        return statement
    }

    /// The shared SQL writes parameters as `$N`; SQLite's numbered form is `?N`. No statement
    /// has a `$` anywhere else.
    static func numbered(_ sql: String) -> String {
        String(sql.map { $0 == "$" ? "?" : $0 })
    }

    private func bind(_ value: SQLValue, at index: Int32, to statement: OpaquePointer) -> Int32 {
        switch value {
        case .null: return sqlite3_bind_null(statement, index)
        case .integer(let v): return sqlite3_bind_int64(statement, index, v)
        case .bool(let v): return sqlite3_bind_int64(statement, index, v ? 1 : 0)
        case .real(let v): return sqlite3_bind_double(statement, index, v)
        case .text(let v):
            return v.utf8CString.withUnsafeBufferPointer {
                csqlite_bind_text(statement, index, $0.baseAddress, Int32($0.count - 1))
            }
        case .blob(let v):
            // A zero-length blob still needs a non-null pointer, or SQLite binds NULL.
            return (v.isEmpty ? [0] : v).withUnsafeBytes {
                csqlite_bind_blob(statement, index, $0.baseAddress, Int32(v.count))
            }
        }
    }

    private func column(_ statement: OpaquePointer, _ index: Int32) -> SQLValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, index))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard count > 0, let bytes = sqlite3_column_blob(statement, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default:
            guard let text = sqlite3_column_text(statement, index) else { return .text("") }
            let count = Int(sqlite3_column_bytes(statement, index))
            return .text(String(decoding: UnsafeRawBufferPointer(start: text, count: count), as: UTF8.self))
        }
    }

    private func check(_ rc: Int32, _ what: String) throws {
        guard rc == SQLITE_OK else { throw failure(rc, what) }
    }

    private func failure(_ rc: Int32, _ what: String) -> SQLiteFailure {
        .error(code: rc, message: "\(what): \(String(cString: sqlite3_errmsg(handle)))")
    }
}
