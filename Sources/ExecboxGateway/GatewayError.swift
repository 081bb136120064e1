import ExecboxAPI
public import ExecboxRPC
import ExecboxWellKnownTypes
import ExecboxWire

/// Every failure a REST or WebSocket call can answer with: an HTTP status, the legacy machine code,
/// a curated detail and optional field violations. Built from an ``RPCError`` in one place
/// (``init(_:)``), so the gRPC status → HTTP status table lives here and nowhere else.
public struct GatewayError: Error, Sendable, Equatable {
    public struct Violation: Sendable, Equatable {
        public var message: String
        public var location: String
        /// The offending value as JSON text; nil when it must not be echoed.
        public var valueJSON: String?

        public init(message: String, location: String, valueJSON: String? = nil) {
            self.message = message
            self.location = location
            self.valueJSON = valueJSON
        }
    }

    public var status: Int
    public var code: String
    public var detail: String
    public var violations: [Violation] = []
    /// Seconds after which a retry may succeed (`Retry-After`).
    public var retryAfterSeconds: Int?
    /// `X-RateLimit-Limit`, `-Remaining`, `-Reset` (unix seconds) when a limit refused the call.
    public var rateLimit: (limit: Int64, remaining: Int64, reset: Int64)?
    /// Extra response headers (`Allow` on 405).
    public var headers: [(String, String)] = []

    public init(status: Int, code: String, detail: String, violations: [Violation] = []) {
        self.status = status
        self.code = code
        self.detail = detail
        self.violations = violations
    }

    public static func == (lhs: GatewayError, rhs: GatewayError) -> Bool {
        lhs.status == rhs.status && lhs.code == rhs.code && lhs.detail == rhs.detail
            && lhs.violations == rhs.violations
    }

    static func badRequest(_ detail: String) -> GatewayError {
        GatewayError(status: 400, code: "BAD_REQUEST", detail: detail)
    }

    /// 422 with one violation per problem, as the legacy schema validation answered.
    static func validation(_ violations: [Violation]) -> GatewayError {
        GatewayError(status: 422, code: "VALIDATION_FAILED", detail: "validation failed", violations: violations)
    }

    static func invalid(_ location: String, _ message: String, value: JSONValue? = nil) -> GatewayError {
        validation([Violation(message: message, location: location, valueJSON: value?.rendered())])
    }

    static let notFound = GatewayError(status: 404, code: "NOT_FOUND", detail: "no such route")

    static func methodNotAllowed(allow: [String]) -> GatewayError {
        var error = GatewayError(status: 405, code: "METHOD_NOT_ALLOWED", detail: "method not allowed")
        error.headers = [("allow", allow.joined(separator: ", "))]
        return error
    }

    static func payloadTooLarge(limit: Int) -> GatewayError {
        GatewayError(status: 413, code: "PAYLOAD_TOO_LARGE", detail: "request body is larger than \(limit) bytes")
    }

    static let unsupportedMediaType = GatewayError(
        status: 415, code: "UNSUPPORTED_MEDIA_TYPE", detail: "the request body must be application/json")

    static let internalError = GatewayError(status: 500, code: "INTERNAL", detail: "internal error")

    /// The HTTP form of a failed call: the status from the gRPC code (and the ErrorDetail the
    /// service attached), the legacy code from the detail, and its message.
    public init(_ error: RPCError) {
        let detail = error.metadata.errorDetail
        let message = detail?.message.isEmpty == false ? detail!.message : error.message
        var status: Int
        switch error.code {
        case .invalidArgument, .outOfRange: status = detail?.fieldViolations.isEmpty == false ? 422 : 400
        case .unauthenticated: status = 401
        case .permissionDenied: status = 403
        case .notFound: status = 404
        case .alreadyExists, .failedPrecondition, .aborted: status = 409
        case .resourceExhausted: status = 429
        case .unimplemented: status = 501
        case .unavailable: status = 503
        case .deadlineExceeded: status = 504
        case .cancelled: status = 499
        default: status = 500
        }
        switch detail?.code {
        case .validationFailed?: status = 422
        case .payloadTooLarge?: status = 413
        case .badRequest? where status != 422: status = 400
        default: break
        }
        let code: String
        if let detail, detail.code != .unspecified, let name = detail.code.protoName {
            code = String(name.dropFirst("ERROR_CODE_".count))
        } else {
            code = Self.fallbackCode(status)
        }
        self.init(
            status: status, code: status == 422 ? "VALIDATION_FAILED" : code,
            detail: status == 500 ? "internal error" : message,
            violations: (detail?.fieldViolations ?? []).map {
                Violation(
                    message: $0.message, location: $0.location, valueJSON: $0.valueJson.isEmpty ? nil : $0.valueJson)
            })
        if let detail, detail.retryAfterMs > 0 {
            retryAfterSeconds = Int((detail.retryAfterMs + 999) / 1000)
        } else if let text = error.metadata.first("retry-after-ms"), let ms = Int(text), ms > 0 {
            retryAfterSeconds = (ms + 999) / 1000
        }
        if status == 429 && retryAfterSeconds == nil { retryAfterSeconds = 1 }
        if let info = detail?.rateLimit {
            rateLimit = (info.limit, info.remaining, info.resetAt?.seconds ?? 0)
        }
    }

    static func fallbackCode(_ status: Int) -> String {
        switch status {
        case 400: "BAD_REQUEST"
        case 401: "UNAUTHORIZED"
        case 403: "FORBIDDEN"
        case 404: "NOT_FOUND"
        case 409: "CONFLICT"
        case 429: "RATE_LIMIT_EXCEEDED"
        case 501: "NOT_IMPLEMENTED"
        case 503, 504: "UNAVAILABLE"
        default: "INTERNAL"
        }
    }

    /// Any error a route threw, as the answer the client gets.
    static func from(_ error: any Error) -> GatewayError {
        switch error {
        case let error as GatewayError: error
        case let error as RPCError: GatewayError(error)
        default: .internalError
        }
    }
}

extension Metadata {
    /// The service's `execbox-error-bin` trailer.
    var errorDetail: ErrorDetail? {
        for (key, value) in self where key == "execbox-error-bin" {
            if case .binary(let bytes) = value { return try? ErrorDetail(serializedBytes: bytes) }
        }
        return nil
    }
}
