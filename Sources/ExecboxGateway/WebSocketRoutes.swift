import ExecboxAPI
import ExecboxRPC
import ExecboxWire
import Foundation
import NIOCore

/// `GET /v1/sessions/{id}/attach` and `/exec` (CONTRACT.md §4): the legacy checks before the
/// upgrade, then a ``ProcessBridge`` between the WebSocket and ProcessService's Attach or Exec.
enum WebSocketRoutes {
    static let routes = [
        Route("GET", "/v1/sessions/{id}/attach") { call in try await plan(call, target: .attach) },
        Route("GET", "/v1/sessions/{id}/exec") { call in try await plan(call, target: .exec(try execStart(call))) },
    ]

    static func plan(_ call: RouteCall, target: ProcessBridge.Target) async throws -> RouteResponse {
        // Cross-site WebSocket hijacking: a browser always sends its page's origin; only this
        // server's own origin and the configured CORS origins may open a WebSocket.
        if let origin = call.request.header("origin"), !isAllowed(origin: origin, call) {
            throw GatewayError(status: 403, code: "FORBIDDEN", detail: "origin \(origin) may not open a WebSocket here")
        }
        let request = GetSessionRequest.with { $0.sessionId = call.parameter("id") }
        let session = try await call.sessions.getSession(request, metadata: call.metadata).session ?? Session()
        guard [.pending, .running].contains(session.status) else {
            throw GatewayError(
                status: 409, code: "CONFLICT",
                detail: "session not running: status=\(LegacyJSON.status(session.status))")
        }
        guard call.request.isWebSocketUpgrade else {
            throw GatewayError.badRequest("a WebSocket upgrade is required on this route")
        }
        let offered = WebSocketAuth.offeredProtocols(call.request)
        let selected = offered.contains(WebSocketAuth.protocolName) ? WebSocketAuth.protocolName : nil
        return .upgrade(
            WebSocketPlan(subprotocol: selected, requestID: call.requestID) { connection in
                await ProcessBridge(call: call, connection: connection, target: target).run()
            })
    }

    static func isAllowed(origin: String, _ call: RouteCall) -> Bool {
        let origins = call.configuration.corsOrigins
        if origins.contains("*") || origins.contains(origin) { return true }
        guard let host = call.request.header("host") ?? call.request.header(":authority") else { return false }
        return origin == "http://\(host)" || origin == "https://\(host)"
    }

    /// The exec's argv and options from the query: repeated `cmd` is argv (a single `cmd` is
    /// argv[0], never a shell line), `workdir`, repeated `env=K=V`, `tty=1` with `cols`/`rows`.
    static func execStart(_ call: RouteCall) throws -> ExecStart {
        let request = call.request
        let argv = request.queryValues("cmd")
        guard !argv.isEmpty else { throw GatewayError.invalid("query.cmd", "at least one cmd parameter is required") }
        var start = ExecStart()
        start.sessionId = call.parameter("id")
        start.argv = argv
        start.workDir = request.queryValue("workdir") ?? ""
        for pair in request.queryValues("env") {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw GatewayError.invalid("query.env", "env must be NAME=value", value: .string(pair))
            }
            start.env[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        if let tty = request.queryValue("tty") {
            guard ["1", "true", "0", "false"].contains(tty) else {
                throw GatewayError.invalid("query.tty", "tty must be 1, true, 0 or false", value: .string(tty))
            }
            start.tty = tty == "1" || tty == "true"
        }
        if start.tty {
            func dimension(_ name: String, _ fallback: UInt32) throws -> UInt32 {
                guard let text = request.queryValue(name) else { return fallback }
                guard let value = UInt32(text), (1...10_000).contains(value) else {
                    throw GatewayError.invalid("query.\(name)", "\(name) must be 1..10000", value: .string(text))
                }
                return value
            }
            let cols = try dimension("cols", 80)
            let rows = try dimension("rows", 24)
            start.terminalSize = TerminalSize.with {
                $0.cols = cols
                $0.rows = rows
            }
        }
        return start
    }
}

/// Browsers cannot set `Authorization` on a WebSocket: they offer the sub-protocols `execbox.v1`
/// and `bearer.<key>`; the server selects `execbox.v1` and never echoes the key.
enum WebSocketAuth {
    static let protocolName = "execbox.v1"
    static let tokenPrefix = "bearer."

    static func offeredProtocols(_ request: GatewayRequest) -> [String] {
        request.headers.filter { $0.name == "sec-websocket-protocol" }
            .flatMap { $0.value.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// `Bearer <key>` from an offered `bearer.<key>` sub-protocol.
    static func authorization(_ request: GatewayRequest) -> String? {
        offeredProtocols(request).first { $0.hasPrefix(tokenPrefix) && $0.count > tokenPrefix.count }
            .map { "Bearer " + $0.dropFirst(tokenPrefix.count) }
    }
}
