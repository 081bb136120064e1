import ExecboxAPI
import ExecboxRPC
import ExecboxWire

/// `/v1/sessions` (CONTRACT.md §3.16–§3.20): create, list, get, stop, kill, each one
/// SessionService call.
enum SessionRoutes {
    static let routes = [
        Route("POST", "/v1/sessions", createSession),
        Route("GET", "/v1/sessions", listSessions),
        Route("GET", "/v1/sessions/{id}", getSession),
        Route("POST", "/v1/sessions/{id}/stop", stopSession),
        Route("DELETE", "/v1/sessions/{id}", killSession),
    ]

    @Sendable static func createSession(_ call: RouteCall) async throws -> RouteResponse {
        let body = try await call.body(CreateSessionBody.self).validated()
        var request = CreateSessionRequest()
        request.image = body.image
        request.setup = body.setup ?? []
        request.files = (body.files ?? []).map { file in
            FileSpec.with {
                $0.path = file.path
                $0.content = file.content
                $0.encoding = file.encoding == "base64" ? .base64 : .utf8
            }
        }
        request.command = body.command ?? []
        request.env = body.env ?? [:]
        request.workDir = body.workDir ?? ""
        if let resources = body.resources {
            request.resources = Resources.with {
                $0.cpuMillicores = UInt32(resources.cpuMillis ?? 0)
                $0.memoryMb = UInt32(resources.memoryMB ?? 0)
                $0.timeoutMs = resources.timeoutMs ?? 0
            }
        }
        request.network =
            switch body.network {
            case "none": .none
            case "exposed": .exposed
            default: .outgoing
            }
        request.ports = (body.ports ?? []).map { port in
            PortSpec.with {
                $0.containerPort = UInt32(port.container)
                $0.transport = port.protocol == "udp" ? .udp : .tcp
            }
        }
        request.idempotencyKey = call.request.header("idempotency-key") ?? ""
        let response = try await call.sessions.createSession(request, metadata: call.metadata)
        let session = response.session ?? Session()
        var object = JSONObject()
        object.add("id", session.id)
        object.add("status", LegacyJSON.status(session.status))
        object.add("createdAt", ifPresent: LegacyJSON.time(session.createdAt))
        if !request.ports.isEmpty, request.network != .none, let network = LegacyJSON.network(session) {
            object.add("network", network)
        }
        return .json(
            status: 201, object.value,
            headers: response.idempotentReplayed ? [("idempotent-replayed", "true")] : [])
    }

    @Sendable static func listSessions(_ call: RouteCall) async throws -> RouteResponse {
        let statuses = try call.request.queryValues("status").flatMap {
            $0.split(separator: ",", omittingEmptySubsequences: false)
        }.map { name in
            guard let status = LegacyJSON.sessionStatus(String(name)) else {
                throw GatewayError.invalid(
                    "query.status",
                    "expected a comma-separated list of pending, building, running, stopped, failed, killed",
                    value: .string(String(name)))
            }
            return status
        }
        let limit = try call.request.queryValue("limit").map {
            try SchemaCheck.queryInteger($0, "limit", default: 100, 1...1000)
        }
        var sessions: [JSONValue] = []
        var token = call.request.queryValue("cursor") ?? ""
        // Without a limit every session is listed, as the legacy server did, in pages.
        repeat {
            let response = try await call.sessions.listSessions(
                ListSessionsRequest.with {
                    $0.statuses = statuses
                    $0.page = PageRequest.with {
                        $0.pageSize = UInt32(limit ?? 1000)
                        $0.pageToken = token
                    }
                }, metadata: call.metadata)
            sessions += response.sessions.map(LegacyJSON.session)
            token = response.page?.nextPageToken ?? ""
        } while limit == nil && !token.isEmpty
        var object = JSONObject()
        object.add("sessions", .array(sessions))
        if limit != nil, !token.isEmpty { object.add("next_cursor", token) }
        return .json(status: 200, object.value)
    }

    @Sendable static func getSession(_ call: RouteCall) async throws -> RouteResponse {
        let response = try await call.sessions.getSession(
            GetSessionRequest.with { $0.sessionId = call.parameter("id") }, metadata: call.metadata)
        return .json(status: 200, LegacyJSON.session(response.session ?? Session()))
    }

    @Sendable static func stopSession(_ call: RouteCall) async throws -> RouteResponse {
        _ = try await call.sessions.stopSession(
            StopSessionRequest.with { $0.sessionId = call.parameter("id") }, metadata: call.metadata)
        var object = JSONObject()
        object.add("status", "stopped")
        return .json(status: 200, object.value)
    }

    @Sendable static func killSession(_ call: RouteCall) async throws -> RouteResponse {
        _ = try await call.sessions.killSession(
            KillSessionRequest.with { $0.sessionId = call.parameter("id") }, metadata: call.metadata)
        var object = JSONObject()
        object.add("status", "killed")
        return .json(status: 200, object.value)
    }
}
