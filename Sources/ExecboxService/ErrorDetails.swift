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

    /// Marks `error` with the legacy code its REST answer needs when the status alone does not
    /// say it (a FAILED_PRECONDITION that the legacy API answered with 400, an upload over the
    /// limit that was a 413); ``add(for:requestID:to:)`` takes it off again.
    static func withCode(_ code: ErrorCode, _ error: RPCError) -> RPCError {
        var marked = error
        marked.metadata.add(codeMarkerKey, code.protoName ?? "")
        return marked
    }

    static let codeMarkerKey = "execbox-error-code"

    /// Adds a detail for `error` unless the handler or an interceptor already added one; returns
    /// the error without the code marker.
    static func add(for error: RPCError, requestID: String, to call: ServerCallState) -> RPCError {
        let marker = error.metadata.first(codeMarkerKey)
        var error = error
        if marker != nil {
            var metadata = Metadata()
            for (key, value) in error.metadata where key != codeMarkerKey { metadata.add(key, value) }
            error.metadata = metadata
        }
        guard !call.trailingMetadata.contains(where: { $0.key == metadataKey }) else { return error }
        let detail = ErrorDetail.with {
            $0.code = marker.flatMap(ErrorCode.init(protoName:)) ?? code(for: error.code)
            $0.message = truncated(error.message, toUTF8Bytes: 1024)
            $0.requestId = requestID
        }
        call.addTrailingMetadata(metadataKey, .binary(detail.serializedBytes()))
        return error
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
