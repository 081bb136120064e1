public import ExecboxAPI
public import ExecboxRPC
import ExecboxWire

/// The `execbox-error-bin` trailer (common.proto `ErrorDetail`): the machine-readable code the REST
/// gateway turns into the legacy `code`, plus the request id.
public enum ErrorDetails {
    public static let metadataKey = "execbox-error-bin"

    public static func code(for status: RPCError.Code) -> ErrorCode {
        switch status {
        case .invalidArgument, .outOfRange: .badRequest
        case .unauthenticated: .unauthorized
        case .permissionDenied: .forbidden
        case .notFound: .notFound
        case .alreadyExists, .failedPrecondition, .aborted: .conflict
        case .resourceExhausted: .quotaExceeded
        case .unimplemented: .notImplemented
        case .unavailable, .deadlineExceeded: .unavailable
        default: .internal
        }
    }

    /// Adds a detail for `error` unless the handler or an interceptor already added one.
    static func add(for error: RPCError, requestID: String, to call: ServerCallState) {
        guard !call.trailingMetadata.contains(where: { $0.key == metadataKey }) else { return }
        let detail = ErrorDetail.with {
            $0.code = code(for: error.code)
            $0.message = truncated(error.message, toUTF8Bytes: 1024)
            $0.requestId = requestID
        }
        call.addTrailingMetadata(metadataKey, .binary(detail.serializedBytes()))
    }

    /// `text` cut at a character boundary so that it fits in `limit` UTF-8 bytes.
    static func truncated(_ text: String, toUTF8Bytes limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var result = ""
        var size = 0
        for character in text {
            size += character.utf8.count
            if size > limit { break }
            result.append(character)
        }
        return result
    }
}
