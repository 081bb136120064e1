import CSQLite
import ExecboxStorage

/// A failed SQLite call, mapped onto `StorageError` codes by its (extended) result code.
enum SQLiteFailure: Error {
    case error(code: Int32, message: String)

    // Extended result codes are C macros Swift cannot import (sqlite3.h: SQLITE_CONSTRAINT | n << 8).
    static let constraintPrimaryKey = SQLITE_CONSTRAINT | (6 << 8)
    static let constraintUnique = SQLITE_CONSTRAINT | (8 << 8)

    var code: Int32 {
        switch self {
        case .error(let code, _): code
        }
    }

    /// I/O errors and corruption make the database fail-stop: after a failed fsync SQLite cannot
    /// tell what reached the disk, so no later write may be acknowledged (the fsyncgate rule).
    var isFatal: Bool {
        let primary = code & 0xff
        return primary == SQLITE_IOERR || primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB
    }

    var storageError: StorageError {
        let primary = code & 0xff
        let message: String
        switch self {
        case .error(_, let text): message = text
        }
        let storageCode: StorageError.Code
        switch primary {
        case SQLITE_CONSTRAINT:
            switch code {
            case Self.constraintUnique, Self.constraintPrimaryKey: storageCode = .alreadyExists
            default: storageCode = .invalidArgument
            }
        case SQLITE_BUSY, SQLITE_LOCKED: storageCode = .unavailable
        case SQLITE_FULL: storageCode = .storageFull
        case SQLITE_IOERR: storageCode = .ioFailure
        case SQLITE_CORRUPT, SQLITE_NOTADB: storageCode = .dataCorrupted
        case SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_READONLY: storageCode = .configuration
        default: storageCode = .internal
        }
        return StorageError(code: storageCode, message: "SQLite: \(message)")
    }
}
