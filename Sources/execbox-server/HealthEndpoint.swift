import ExecboxHTTP2
import NIOCore
import NIOHTTP1
import Synchronization

/// `GET /health` over HTTP/1.1 and HTTP/2 for load balancers and probes that do not speak gRPC:
/// 200 `{"status":"ok"}` while the database and the backend work, 503 `{"status":"unavailable",
/// "database":…,"backend":…}` otherwise (the legacy contract's shape, CONTRACT.md §3.1). It follows
/// the same checks as `grpc.health.v1` (``DatabaseHealthMonitor`` updates both). Any other HTTP/1.1
/// path is 404 until the REST gateway arrives.
final class HealthEndpoint: Sendable {
    private let state = Mutex((database: true, backend: true, draining: false))

    func update(database: Bool, backend: Bool) {
        state.withLock { $0 = ($0.draining ? false : database, backend, $0.draining) }
    }

    /// Graceful shutdown began: 503 `{"status":"draining"}` from now on.
    func shutdown() {
        state.withLock { $0.draining = true }
    }

    var response: (status: Int, body: String) {
        let (database, backend, draining) = state.withLock { $0 }
        if draining { return (503, #"{"status":"draining"}"#) }
        if database && backend { return (200, #"{"status":"ok"}"#) }
        let databaseText = database ? "ok" : "unavailable"
        let backendText = backend ? "ok" : "unavailable"
        return (503, #"{"status":"unavailable","database":"\#(databaseText)","backend":"\#(backendText)"}"#)
    }

    static func isHealthPath(_ path: String) -> Bool {
        path == "/health" || path.hasPrefix("/health?")
    }

    /// Answers `/health` on HTTP/2 and hands every other stream to `next` (the gRPC server).
    func wrap(_ next: @escaping HTTP2Server.Handler) -> HTTP2Server.Handler {
        { request, writer in
            guard Self.isHealthPath(request.path), request.method == "GET" || request.method == "HEAD" else {
                return try await next(request, writer)
            }
            let (status, body) = self.response
            let head = request.method == "HEAD"
            try await writer.writeHead(
                status: status,
                headers: ["content-type": "application/json", "cache-control": "no-store"], endStream: head)
            if head { return }
            try await writer.writeBody(ByteBuffer(string: body))
            try await writer.finish()
        }
    }

    /// The HTTP/1.1 side of the listener.
    var http1Initializer: HTTP2Server.HTTP1Initializer {
        { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(HTTP1Handler(endpoint: self))
                return nil
            }
        }
    }

    final class HTTP1Handler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let endpoint: HealthEndpoint
        private var head: HTTPRequestHead?

        init(endpoint: HealthEndpoint) {
            self.endpoint = endpoint
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let request): head = request
            case .body: break
            case .end:
                guard let request = head else { return }
                head = nil
                respond(to: request, context: context)
            }
        }

        private func respond(to request: HTTPRequestHead, context: ChannelHandlerContext) {
            let (status, body): (Int, String)
            if HealthEndpoint.isHealthPath(request.uri), request.method == .GET || request.method == .HEAD {
                (status, body) = endpoint.response
            } else {
                (status, body) = (404, #"{"error":"not_found","code":"not_found","status":404,"title":"Not Found"}"#)
            }
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "content-length", value: String(body.utf8.count))
            headers.add(name: "cache-control", value: "no-store")
            if !request.isKeepAlive { headers.add(name: "connection", value: "close") }
            let head = HTTPResponseHead(
                version: request.version, status: HTTPResponseStatus(statusCode: status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            if request.method != .HEAD {
                context.write(
                    wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            }
            let keepAlive = request.isKeepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { context.close(promise: nil) }
            }
        }

        /// A request NIO could not parse has had its 400; the connection is not reusable.
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
