public import ExecboxRPC
public import ExecboxSandbox
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

    /// A backend failure as the status its code names (`SandboxError.Code.grpcStatusName`); its
    /// message is curated by the backend. Internal failures get a generic message.
    public static func rpcError(for error: SandboxError) -> RPCError {
        let code: RPCError.Code =
            switch error.code.grpcStatusName {
            case "INVALID_ARGUMENT": .invalidArgument
            case "NOT_FOUND": .notFound
            case "ALREADY_EXISTS": .alreadyExists
            case "PERMISSION_DENIED": .permissionDenied
            case "FAILED_PRECONDITION": .failedPrecondition
            case "OUT_OF_RANGE": .outOfRange
            case "RESOURCE_EXHAUSTED": .resourceExhausted
            case "UNAVAILABLE": .unavailable
            case "UNIMPLEMENTED": .unimplemented
            case "DEADLINE_EXCEEDED": .deadlineExceeded
            default: .internal
            }
        guard code != .internal else { return RPCError(code: .internal, message: "internal error", cause: error) }
        return RPCError(code: code, message: error.message, cause: error)
    }

    /// Another account's session answers exactly like a missing one.
    static let sessionNotFound = RPCError(code: .notFound, message: "session not found")

    static func failedPrecondition(_ message: String) -> RPCError {
        RPCError(code: .failedPrecondition, message: message)
    }

    /// A call that needs a RUNNING session (legacy REST 409).
    static func notRunning(_ record: SessionRecord) -> RPCError {
        failedPrecondition("session is \(record.status.rawValue), not running")
    }

    /// Any error a handler threw, as the status the caller sees.
    public static func rpcError(for error: any Error) -> RPCError {
        switch error {
        case let error as RPCError: error
        case let error as StorageError: rpcError(for: error)
        case let error as SandboxError: rpcError(for: error)
        case is CancellationError: RPCError(code: .cancelled, message: "call cancelled")
        default: RPCError(code: .internal, message: "internal error", cause: error)
        }
    }
}
