import CLibPQ
import ExecboxStorage
import ExecboxStorageSQL

/// One libpq connection, owned by one worker thread. Statements are prepared once per
/// connection (named by a counter) and executed with bound parameters; results come back in
/// text format and are decoded by column type.
final class PostgresConnection: SQLConnection {
    let dialect = SQLDialect.postgres
    private let handle: OpaquePointer
    private var statements: [String: String] = [:]

    init(settings: PostgresSettings) throws {
        handle = try settings.connect()
    }

    deinit {
        PQfinish(handle)
    }

    var isBroken: Bool { PQstatus(handle) != CONNECTION_OK }

    var socket: Int32 { PQsocket(handle) }

    var raw: OpaquePointer { handle }

    func query(_ sql: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        let name = try prepared(sql, binds)
        let parameters = PostgresParameters(binds)
        defer { parameters.deallocate() }
        let result = PQexecPrepared(
            handle,
            name,
            Int32(binds.count),
            parameters.values,
            parameters.lengths,
            parameters.formats,
            0
        )
        return try rows(of: result)
    }

    func executeScript(_ sql: String) throws {
        _ = try rows(of: PQexec(handle, sql))
    }

    /// Statements are keyed by their text; the parameter types are fixed at the first use.
    private func prepared(_ sql: String, _ binds: [SQLValue]) throws -> String {
        if let name = statements[sql] { return name }
        let name = "s\(statements.count)"
        let types = binds.map(PostgresParameters.type)
        let result = types.withUnsafeBufferPointer {
            PQprepare(handle, name, sql, Int32(binds.count), $0.baseAddress)
        }
        _ = try rows(of: result)
        statements[sql] = name
        return name
    }

    private func rows(of result: OpaquePointer?) throws -> [SQLRow] {
        guard let result else { throw failure(nil) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return []
        case PGRES_TUPLES_OK:
            let count = PQntuples(result)
            let fields = PQnfields(result)
            let types = (0..<fields).map { PQftype(result, $0) }
            var rows: [SQLRow] = []
            rows.reserveCapacity(Int(count))
            for row in 0..<count {
                var values: [SQLValue] = []
                values.reserveCapacity(Int(fields))
                for field in 0..<fields {
                    if PQgetisnull(result, row, field) != 0 {
                        values.append(.null)
                    } else {
                        let length = Int(PQgetlength(result, row, field))
                        let bytes = UnsafeRawBufferPointer(start: PQgetvalue(result, row, field), count: length)
                        values.append(try PostgresText.decode(bytes, type: types[Int(field)]))
                    }
                }
                rows.append(SQLRow(values: values))
            }
            return rows
        default:
            throw failure(result)
        }
    }

    private func failure(_ result: OpaquePointer?) -> PostgresFailure {
        let lost = PQstatus(handle) != CONNECTION_OK
        guard let result, let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))) else {
            return PostgresFailure(sqlState: "", message: Self.firstLine(PQerrorMessage(handle)), connectionLost: true)
        }
        let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M")))
        return PostgresFailure(
            sqlState: String(cString: state),
            message: primary.map { String(cString: $0) } ?? "error",
            connectionLost: lost
        )
    }

    static func firstLine(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "connection failed" }
        let line = String(cString: text).split(separator: "\n").first.map(String.init) ?? ""
        return line.isEmpty ? "connection failed" : line
    }
}
