package import ExecboxStorage

/// Opaque page cursors: the sort key of the last row of a page.
package enum Cursor {
    /// `<micros>:<id>` for lists ordered by time, then id.
    package static func encode(micros: Int64, id: String) -> String { "\(micros):\(id)" }

    package static func decode(_ cursor: String) throws -> (micros: Int64, id: String) {
        guard let colon = cursor.firstIndex(of: ":"), let micros = Int64(cursor[..<colon]) else {
            throw StorageError(code: .invalidArgument, message: "malformed page cursor")
        }
        return (micros, String(cursor[cursor.index(after: colon)...]))
    }

    package static func decodeID(_ cursor: String) throws -> Int64 {
        guard let id = Int64(cursor) else {
            throw StorageError(code: .invalidArgument, message: "malformed page cursor")
        }
        return id
    }

    /// Clamps a page size to 1...1000.
    package static func limit(_ page: PageRequest) -> Int { min(max(page.limit, 1), 1000) }
}
