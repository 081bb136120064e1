public import ExecboxHTTP2
public import ExecboxRPC
import ExecboxWire
import Foundation
import NIOCore
import Synchronization

/// The REST `/v1` gateway of the legacy contract, with `/health` and `/openapi.json`. It answers on
/// the listener's HTTP/1.1 side (WebSocket attach and exec included) and, for requests that are not
/// gRPC, on HTTP/2. Every route calls the same RPC services the gRPC surface serves, through the
/// router and all its interceptors, so no business rule is implemented twice.
public final class Gateway: Sendable {
    let router: RPCRouter
    let configuration: GatewayConfiguration
    let health: @Sendable () -> (status: Int, body: String)
    let routes: [Route]
    let openAPIDocument: [UInt8]

    public init(
        router: RPCRouter, configuration: GatewayConfiguration = GatewayConfiguration(),
        health: @escaping @Sendable () -> (status: Int, body: String)
    ) {
        self.router = router
        self.configuration = configuration
        self.health = health
        self.openAPIDocument = OpenAPIDocument.bytes
        self.routes = Self.allRoutes()
    }

    static func allRoutes() -> [Route] {
        DocumentRoutes.routes + AccountRoutes.routes + SessionRoutes.routes + FileRoutes.routes
            + WebSocketRoutes.routes
    }

    /// The route templates and methods the gateway answers, for the OpenAPI check.
    public static var routeTable: [(method: String, path: String)] {
        allRoutes().map { ($0.method, $0.template) }
    }

    /// Serves one request. Returns the WebSocket plan when the route asks for an upgrade and the
    /// caller can perform one (`canUpgrade`); otherwise the response has been written.
    func serve(_ request: GatewayRequest, sink: any ResponseSink, canUpgrade: Bool) async -> WebSocketPlan? {
        let requestID = Self.requestID(request.header("x-request-id"))
        let responder = Responder(
            sink: sink, requestID: requestID, cors: cors(for: request), isHead: request.method == "HEAD")
        if request.method == "OPTIONS", request.header("access-control-request-method") != nil {
            await responder.preflight(allowed: responder.cors != nil)
            return nil
        }
        let path = Route.segments(of: request.path)
        let candidates = routes.compactMap { route in route.match(path).map { (route, $0) } }
        // HEAD only for the documents (`/health`, `/openapi.*`): streamed routes write bodies.
        let isDocument = DocumentRoutes.routes.contains { $0.match(path) != nil }
        let method = request.method == "HEAD" && isDocument ? "GET" : request.method
        guard let (route, parameters) = candidates.first(where: { $0.0.method == method }) else {
            let allowed = candidates.map(\.0.method) + (isDocument ? ["HEAD"] : [])
            await responder.fail(allowed.isEmpty ? .notFound : .methodNotAllowed(allow: allowed))
            return nil
        }
        let authorization = request.header("authorization") ?? WebSocketAuth.authorization(request)
        if !route.isPublic, let refusal = Self.checkAuthorizationHeader(authorization) {
            await responder.fail(refusal)
            return nil
        }
        let call = RouteCall(
            request: request, parameters: parameters, requestID: requestID, router: router,
            configuration: configuration, authorization: authorization, responder: responder, health: health)
        do {
            switch try await route.handler(call) {
            case .upgrade(let plan):
                guard canUpgrade else {
                    await responder.fail(
                        .badRequest("a WebSocket upgrade over HTTP/1.1 is required (HTTP/2 WebSockets are not offered)")
                    )
                    return nil
                }
                return plan
            case let response:
                await responder.send(response)
            }
        } catch {
            var failure = GatewayError.from(error)
            // The legacy server authenticated before validating: a bad body from a bad key is a 401.
            if !route.isPublic, [400, 413, 415, 422].contains(failure.status),
                let refusal = await call.authenticationFailure()
            {
                failure = refusal
            }
            await responder.fail(failure)
        }
        return nil
    }

    /// Serves one request that cannot switch to a WebSocket (HTTP/2, tests): an upgrade route
    /// answers 400.
    public func respond(to request: GatewayRequest, sink: any ResponseSink) async {
        _ = await serve(request, sink: sink, canUpgrade: false)
    }

    /// The header-level checks of the legacy auth middleware (§2.1), before any call is made.
    static func checkAuthorizationHeader(_ value: String?) -> GatewayError? {
        guard let value, !value.isEmpty else {
            return GatewayError(status: 401, code: "UNAUTHORIZED", detail: "missing authorization header")
        }
        let token = value.dropFirst("Bearer ".count)
        guard value.hasPrefix("Bearer "), !token.isEmpty, !token.contains(where: \.isWhitespace) else {
            return GatewayError(status: 401, code: "UNAUTHORIZED", detail: "invalid authorization header format")
        }
        return nil
    }

    /// The client's `X-Request-Id` when it is 1...128 printable ASCII characters, else a new one
    /// (the same rule as the RPC request interceptor, which receives this id).
    static func requestID(_ given: String?) -> String {
        if let given, !given.isEmpty, given.utf8.count <= 128, given.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) {
            return given
        }
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(UInt8.random(in: 0...15, using: &generator), radix: 16) }.joined()
    }

    /// The CORS origin to allow for this request, if CORS is on and the origin is allowed.
    func cors(for request: GatewayRequest) -> String? {
        guard !configuration.corsOrigins.isEmpty, let origin = request.header("origin") else { return nil }
        if configuration.corsOrigins.contains("*") { return "*" }
        return configuration.corsOrigins.contains(origin) ? origin : nil
    }

    /// Whether an HTTP/2 request is for the gateway rather than gRPC.
    static func isREST(_ request: HTTP2ServerRequest) -> Bool {
        !(request.headers["content-type"]?.hasPrefix("application/grpc") ?? false)
    }

    /// Serves REST requests arriving over HTTP/2 and hands gRPC streams to `next`.
    public func wrap(_ next: @escaping HTTP2Server.Handler) -> HTTP2Server.Handler {
        { request, writer in
            guard Self.isREST(request) else { return try await next(request, writer) }
            let body = request.body
            let declared = request.headers["content-length"].flatMap(Int.init)
            let iterator = SharedIterator(body.makeAsyncIterator())
            let gatewayRequest = GatewayRequest(
                method: request.method, target: request.path,
                headers: request.headers.filter { !$0.name.hasPrefix(":") }, peer: request.peer,
                body: RequestBody(declaredLength: declared) { try await iterator.next() })
            _ = await self.serve(gatewayRequest, sink: HTTP2Sink(writer: writer), canUpgrade: false)
        }
    }
}

/// An async iterator shared by the closures that read a body; one reader at a time by construction.
final class SharedIterator<Base: AsyncIteratorProtocol>: @unchecked Sendable where Base.Element: Sendable {
    private var base: Base

    init(_ base: Base) {
        self.base = base
    }

    func next() async throws -> Base.Element? {
        try await base.next()
    }
}

/// An HTTP/2 stream as a response sink.
final class HTTP2Sink: ResponseSink {
    let writer: HTTP2ResponseWriter
    private let wroteHead = Atomic(false)

    init(writer: HTTP2ResponseWriter) {
        self.writer = writer
    }

    var headWritten: Bool { wroteHead.load(ordering: .relaxed) }

    func abort() {
        writer.reset()
    }

    func writeHead(status: Int, headers: [(String, String)]) async throws {
        wroteHead.store(true, ordering: .relaxed)
        try await writer.writeHead(status: status, headers: HTTP2Headers(headers))
    }

    func writeBody(_ chunk: ByteBuffer) async throws {
        try await writer.writeBody(chunk)
    }

    func finish() async throws {
        try await writer.finish()
    }
}
