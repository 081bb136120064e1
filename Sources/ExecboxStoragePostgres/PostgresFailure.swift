import ExecboxStorage

/// A failed libpq call: its SQLSTATE (empty when the connection itself failed) and the server's
/// primary message. The DETAIL field, which can quote row values, is never kept.
struct PostgresFailure: Error {
    var sqlState: String
    var message: String
    /// The connection is unusable and must be replaced.
    var connectionLost: Bool

    var storageError: StorageError {
        StorageError(code: code, message: "PostgreSQL \(sqlState.isEmpty ? "connection" : sqlState): \(message)")
    }

    var isSerializationFailure: Bool { sqlState == "40001" || sqlState == "40P01" }

    private var code: StorageError.Code {
        if connectionLost { return .unavailable }
        switch sqlState {
        case "23505": return .alreadyExists
        case "40001", "40P01": return .aborted
        case "53100": return .storageFull
        case "53300", "57P01", "57P02", "57P03", "57014": return .unavailable
        case "58030": return .ioFailure
        case "XX001", "XX002": return .dataCorrupted
        default:
            if sqlState.hasPrefix("23") || sqlState.hasPrefix("22") { return .invalidArgument }
            if sqlState.hasPrefix("08") { return .unavailable }
            if sqlState.hasPrefix("28") { return .configuration }
            return .internal
        }
    }
}
