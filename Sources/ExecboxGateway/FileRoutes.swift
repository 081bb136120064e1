import ExecboxAPI
import ExecboxRPC
import ExecboxWire
import NIOCore

/// `/v1/sessions/{id}/files` and `/url` (CONTRACT.md §10): uploads and downloads streamed through
/// FileService (no whole-file buffering), directory listings, port URLs.
enum FileRoutes {
    static let routes = [
        Route("POST", "/v1/sessions/{id}/files", upload),
        Route("GET", "/v1/sessions/{id}/files", download),
        Route("GET", "/v1/sessions/{id}/url", portURL),
    ]

    /// Uploads and reads move in chunks of this size.
    static let chunkSize = 64 << 10

    static func path(_ call: RouteCall) throws -> String {
        guard let path = call.request.queryValue("path"), !path.isEmpty else {
            throw GatewayError.invalid("query.path", "the path query parameter is required")
        }
        guard path.hasPrefix("/") else {
            throw GatewayError.badRequest("path must be absolute (start with /)")
        }
        return path
    }

    @Sendable static func upload(_ call: RouteCall) async throws -> RouteResponse {
        let path = try path(call)
        let limit = call.configuration.maxUploadBytes
        let body = call.request.body
        if let declared = body.declaredLength, declared > limit { throw GatewayError.payloadTooLarge(limit: limit) }
        let sessionID = call.parameter("id")
        let response = try await call.files.writeFile(metadata: call.metadata) { writer in
            try await writer.write(
                WriteFileRequest.with {
                    $0.payload = .header(
                        WriteFileHeader.with {
                            $0.sessionId = sessionID
                            $0.path = path
                            $0.createParents = true
                            $0.sizeBytes = Int64(body.declaredLength ?? 0)
                        })
                })
            var total = 0
            while var chunk = try await body.read() {
                total += chunk.readableBytes
                guard total <= limit else { throw GatewayError.payloadTooLarge(limit: limit) }
                while chunk.readableBytes > 0 {
                    let bytes = chunk.readBytes(length: min(chunk.readableBytes, chunkSize)) ?? []
                    try await writer.write(WriteFileRequest.with { $0.payload = .data(bytes) })
                }
            }
        }
        var object = JSONObject()
        object.add("path", response.path.isEmpty ? path : response.path)
        object.add("size", response.sizeBytes)
        return .json(status: 201, object.value)
    }

    @Sendable static func download(_ call: RouteCall) async throws -> RouteResponse {
        let path = try path(call)
        let sessionID = call.parameter("id")
        if let list = call.request.queryValue("list"), list == "true" || list == "1" {
            return try await listDirectory(call, sessionID: sessionID, path: path)
        }
        let request = ReadFileRequest.with {
            $0.sessionId = sessionID
            $0.path = path
        }
        return try await call.files.readFile(request, metadata: call.metadata) { responses in
            // The head goes out with the first message, so a missing file is still a JSON 404.
            var started = false
            for try await response in responses {
                if !started {
                    var headers = [("content-type", "application/octet-stream")]
                    if let size = response.info?.sizeBytes { headers.append(("content-length", String(size))) }
                    try await call.responder.start(status: 200, headers: headers)
                    started = true
                }
                if !response.data.isEmpty { try await call.responder.sink.writeBody(ByteBuffer(bytes: response.data)) }
            }
            if !started {
                try await call.responder.start(
                    status: 200, headers: [("content-type", "application/octet-stream"), ("content-length", "0")])
            }
            try await call.responder.sink.finish()
            return .written
        }
    }

    static func listDirectory(_ call: RouteCall, sessionID: String, path: String) async throws -> RouteResponse {
        var entries: [JSONValue] = []
        var token = ""
        repeat {
            let response = try await call.files.listDir(
                ListDirRequest.with {
                    $0.sessionId = sessionID
                    $0.path = path
                    $0.page = PageRequest.with {
                        $0.pageSize = 1000
                        $0.pageToken = token
                    }
                }, metadata: call.metadata)
            entries += response.entries.map { entry in
                var object = JSONObject()
                object.add("name", entry.name)
                object.add("size", entry.sizeBytes)
                object.add("isDir", entry.fileType == .directory)
                object.add("mode", Int64(entry.mode & 0o7777))
                return object.value
            }
            token = response.page?.nextPageToken ?? ""
        } while !token.isEmpty
        var object = JSONObject()
        object.add("path", path)
        object.add("entries", .array(entries))
        return .json(status: 200, object.value)
    }

    @Sendable static func portURL(_ call: RouteCall) async throws -> RouteResponse {
        let port = try SchemaCheck.queryInteger(call.request.queryValue("port"), "port", default: 0, 1...65535)
        guard port != 0 else { throw GatewayError.invalid("query.port", "the port query parameter is required") }
        let response = try await call.network.getPortURL(
            GetPortURLRequest.with {
                $0.sessionId = call.parameter("id")
                $0.containerPort = UInt32(port)
            }, metadata: call.metadata)
        return .json(status: 200, LegacyJSON.portURL(response))
    }
}
