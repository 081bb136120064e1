import NIOCore
import NIOHTTP1
import Synchronization

/// Writes a route's answer with the headers every response carries: the request id, security
/// headers, no caching, and CORS when it is on and the origin is allowed.
struct Responder: Sendable {
    let sink: any ResponseSink
    let requestID: String
    /// The `Access-Control-Allow-Origin` value, when CORS allows this request.
    let cors: String?
    let isHead: Bool
    /// The caller's rate-limit standing from the last call the route made (`X-RateLimit-*`).
    let rateLimitHeaders = HeaderBox()

    final class HeaderBox: Sendable {
        private let fields = Mutex<[(String, String)]>([])

        func set(_ headers: [(String, String)]) {
            fields.withLock { $0 = headers }
        }

        var headers: [(String, String)] { fields.withLock { $0 } }
    }

    var baseHeaders: [(String, String)] {
        var headers =
            rateLimitHeaders.headers + [
                ("x-request-id", requestID),
                ("x-content-type-options", "nosniff"),
                ("x-frame-options", "DENY"),
                ("referrer-policy", "no-referrer"),
                ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
                ("cache-control", "no-store"),
            ]
        if let cors {
            headers.append(("access-control-allow-origin", cors))
            headers.append(("access-control-expose-headers", Self.exposedHeaders))
            if cors != "*" { headers.append(("vary", "Origin")) }
        }
        return headers
    }

    static let exposedHeaders =
        "X-Request-Id, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Idempotent-Replayed, Content-Disposition"

    func send(_ response: RouteResponse) async {
        switch response {
        case .json(let status, let value, let headers):
            await write(status: status, contentType: "application/json", body: Array(value.rendered().utf8), headers)
        case .bytes(let status, let contentType, let body, let headers):
            await write(status: status, contentType: contentType, body: body, headers)
        case .noContent:
            try? await sink.writeHead(status: 204, headers: baseHeaders)
            try? await sink.finish()
        case .written, .upgrade:
            break
        }
    }

    /// Starts a streamed response; the caller writes the body and finishes.
    func start(status: Int, headers: [(String, String)]) async throws {
        try await sink.writeHead(status: status, headers: baseHeaders + headers)
    }

    func write(status: Int, contentType: String, body: [UInt8], _ headers: [(String, String)]) async {
        let head = baseHeaders + [("content-type", contentType), ("content-length", String(body.count))] + headers
        do {
            try await sink.writeHead(status: status, headers: head)
            if !isHead && !body.isEmpty { try await sink.writeBody(ByteBuffer(bytes: body)) }
            try await sink.finish()
        } catch {
            // The client went away; nothing to tell it.
        }
    }

    /// The merged legacy error body (CONTRACT.md §1.4 [REC]); after the head, an abort.
    func fail(_ error: GatewayError) async {
        guard !sink.headWritten else {
            sink.abort()
            return
        }
        var headers = error.headers
        if let seconds = error.retryAfterSeconds { headers.append(("retry-after", String(seconds))) }
        if let limit = error.rateLimit {
            rateLimitHeaders.set([])
            headers.append(("x-ratelimit-limit", String(limit.limit)))
            headers.append(("x-ratelimit-remaining", String(limit.remaining)))
            headers.append(("x-ratelimit-reset", String(limit.reset)))
        }
        let contentType = error.status == 401 ? "application/json" : "application/problem+json"
        await write(
            status: error.status, contentType: contentType,
            body: Array(Self.problem(error, requestID: requestID).rendered().utf8),
            headers)
    }

    static func problem(_ error: GatewayError, requestID: String) -> JSONValue {
        var body = JSONObject()
        body.add("title", reasonPhrase(error.status))
        body.add("status", Int64(error.status))
        body.add("detail", error.detail)
        if !error.violations.isEmpty {
            body.add(
                "errors",
                .array(
                    error.violations.map { violation in
                        var item = JSONObject()
                        item.add("message", violation.message)
                        item.add("location", violation.location)
                        if let value = violation.valueJSON { item.add("value", .string(value)) }
                        return item.value
                    }))
        }
        body.add("error", error.detail)
        body.add("code", error.code)
        body.add("request_id", requestID)
        return body.value
    }

    static func reasonPhrase(_ status: Int) -> String {
        status == 499 ? "Client Closed Request" : HTTPResponseStatus(statusCode: status).reasonPhrase
    }

    /// A CORS preflight: 204 with what may be sent, or 403 when the origin is not allowed.
    func preflight(allowed: Bool) async {
        guard allowed else {
            await fail(GatewayError(status: 403, code: "FORBIDDEN", detail: "origin not allowed"))
            return
        }
        let headers =
            baseHeaders + [
                ("access-control-allow-methods", "GET, POST, PUT, DELETE, OPTIONS"),
                ("access-control-allow-headers", "Authorization, Content-Type, Idempotency-Key, X-Request-Id"),
                ("access-control-max-age", "600"),
                ("content-length", "0"),
            ]
        try? await sink.writeHead(status: 204, headers: headers)
        try? await sink.finish()
    }
}
