import NIOCore
import Synchronization

@testable import ExecboxHTTP2

/// Runs an in-process HTTP2Server with test routes for the duration of `body`.
func withTestServer<R: Sendable>(
    configuration: HTTP2Configuration = HTTP2Configuration(),
    _ body: @Sendable (Int) async throws -> R
) async throws -> R {
    let server = try await HTTP2Server.bind(host: "127.0.0.1", port: 0, configuration: configuration)
    let port = server.localAddress.port!
    return try await withThrowingTaskGroup(of: R?.self) { group in
        group.addTask {
            try await server.run(handler: testRoutes)
            return nil
        }
        let result = try await body(port)
        group.cancelAll()
        return result
    }
}

struct HandlerFailure: Error {}

/// `body`'s result, or nil if it takes longer than `seconds` (it is cancelled then): a test whose
/// failure would be a stall fails instead of hanging.
func within<R: Sendable>(seconds: Int, _ body: @escaping @Sendable () async throws -> R) async throws -> R? {
    try await withThrowingTaskGroup(of: R?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        let first = try await group.next()!
        group.cancelAll()
        return first
    }
}

/// Returns once `condition` holds (checked every 5 ms, on the handler's executor: the stream's
/// event loop); throws after 10 s.
private func waitUntil(_ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while !condition() {
        guard ContinuousClock.now < deadline else { throw HandlerFailure() }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// How the bodies of `POST /body-outcome` ended, by their x-key.
let bodyOutcomes = Mutex<[String: String]>([:])

@Sendable func testRoutes(_ request: HTTP2ServerRequest, _ response: HTTP2ResponseWriter) async throws {
    switch (request.method, request.path) {
    case ("GET", "/hello"):
        try await response.writeHead(status: 200, headers: ["content-type": "text/plain"])
        try await response.writeBody(ByteBuffer(string: "hello\n"))
        try await response.finish()
    case ("POST", "/echo"):
        try await response.writeHead(status: 200)
        var total = 0
        for try await chunk in request.body {
            total += chunk.readableBytes
            try await response.writeBody(chunk)
        }
        try await response.finish(trailers: ["x-body-bytes": String(total)])
    case ("GET", "/headers"):
        let names = request.headers.fields.map(\.name).joined(separator: ",")
        try await response.writeHead(status: 200, headers: ["x-seen": names])
        try await response.finish()
    case ("GET", "/echo-value"):
        // Looked up with upper case on purpose: the lower-casing fallback of the subscript.
        let value = request.headers["X-Value"] ?? "(none)"
        try await response.writeHead(
            status: 200, headers: ["x-echo": value, "x-agent": request.headers["user-agent"] ?? ""])
        try await response.finish()
    case ("GET", "/pseudo-in-head"):
        // Pseudo-header fields of the handler's own are left out of a response head: `:status`
        // comes from `status` alone.
        try await response.writeHead(
            status: 200, headers: [":status": "500", ":path": "/elsewhere", "X-Kept": "yes"], endStream: true)
    case ("POST", "/ignore-body-after-end"):
        // Answers once the body has arrived in full (the stream then closes as the response
        // ends), and leaves it unread.
        try await waitUntil { request.body.hasEnded }
        try await response.writeHead(status: 200, endStream: true)
    case ("POST", "/ignore-body-after-bytes"):
        // Answers once x-wait-bytes of the body have arrived (the upload goes on), leaves them
        // unread, and returns x-linger-ms after answering (the response has gone out by then).
        let bytes = Int(request.headers["x-wait-bytes"] ?? "") ?? 0
        try await waitUntil { request.stream.receivedBytes >= bytes }
        try await response.writeHead(status: 200, endStream: true)
        if let linger = Int(request.headers["x-linger-ms"] ?? ""), linger > 0 {
            try await Task.sleep(for: .milliseconds(linger))
        }
    case ("POST", "/body-outcome"):
        // Reads the body to its end and keeps how it ended under the request's x-key ("reading"
        // from its first bytes on), for `GET /body-outcome` (the stream may be gone by then).
        let key = request.headers["x-key"] ?? ""
        var outcome: String
        do {
            var total = 0
            for try await chunk in request.body {
                if total == 0 { bodyOutcomes.withLock { $0[key] = "reading" } }
                total += chunk.readableBytes
            }
            outcome = "ended after \(total) bytes"
        } catch let error as HTTP2Error {
            outcome = "failed: \(error.code) \(error.resetCode.map(String.init) ?? "-")"
        }
        bodyOutcomes.withLock { $0[key] = outcome }
        try await response.writeHead(status: 200, endStream: true)
    case ("GET", "/body-outcome"):
        let outcome = bodyOutcomes.withLock { $0[request.headers["x-key"] ?? ""] }
        try await response.writeHead(
            status: outcome == nil ? 404 : 200, headers: ["x-outcome": outcome ?? ""], endStream: true)
    case ("GET", "/reuses"):
        // How many streams used this request's state before it.
        try await response.writeHead(status: 200, headers: ["x-reuses": String(request.stream.reuses)], endStream: true)
    case ("GET", "/trailers-only"):
        try await response.writeHead(status: 200, headers: ["grpc-status": "0"], endStream: true)
    case ("GET", "/fail"):
        throw HandlerFailure()
    default:
        try await response.writeHead(status: 404, endStream: true)
    }
}
