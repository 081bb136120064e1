public import ExecboxRPC
public import ExecboxStorage

/// The one mapping from storage failures to gRPC statuses (STYLE.md §7). Messages of
/// `StorageError` are curated (no secrets, values or URLs); internal failures get a generic
/// message, their cause stays in the server log.
public enum ServiceErrors {
    public static func rpcError(for error: StorageError) -> RPCError {
        switch error.code {
        case .notFound:
            RPCError(code: .notFound, message: error.message, cause: error)
        case .alreadyExists:
            RPCError(code: .alreadyExists, message: error.message, cause: error)
        case .failedPrecondition:
            RPCError(code: .failedPrecondition, message: error.message, cause: error)
        case .quotaExceeded:
            RPCError(code: .resourceExhausted, message: error.quota?.legacyMessage ?? error.message, cause: error)
        case .invalidArgument:
            RPCError(code: .invalidArgument, message: error.message, cause: error)
        case .unavailable, .aborted:
            RPCError(code: .unavailable, message: "the database is unavailable; retry later", cause: error)
        case .storageFull:
            RPCError(code: .unavailable, message: "the server's storage is full; retry later", cause: error)
        default:
            // io_failure, data_corrupted, migration/schema/configuration problems, internal.
            RPCError(code: .internal, message: "internal error", cause: error)
        }
    }

    /// Any error a handler threw, as the status the caller sees.
    public static func rpcError(for error: any Error) -> RPCError {
        switch error {
        case let error as RPCError: error
        case let error as StorageError: rpcError(for: error)
        case is CancellationError: RPCError(code: .cancelled, message: "call cancelled")
        default: RPCError(code: .internal, message: "internal error", cause: error)
        }
    }
}
