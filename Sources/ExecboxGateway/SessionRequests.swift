/// The legacy `CreateSessionRequest` (§3.16) with the legacy schema's checks (422). The hidden
/// `computePower`, `storageMB` and `timeout` resource fields are unknown fields, hence ignored.
struct CreateSessionBody: Decodable {
    struct FileSpecBody: Decodable {
        var path: String
        var content: String
        var encoding: String?
    }

    struct ResourcesBody: Decodable {
        var cpuMillis: Int64?
        var memoryMB: Int64?
        var timeoutMs: Int64?
    }

    struct PortBody: Decodable {
        var container: Int64
        var `protocol`: String?
    }

    var image: String
    var setup: [String]?
    var files: [FileSpecBody]?
    var command: [String]?
    var env: [String: String]?
    var workDir: String?
    var resources: ResourcesBody?
    var network: String?
    var ports: [PortBody]?

    func validated() throws -> Self {
        try SchemaCheck.length(image, at: "body.image", min: 1, max: .max)
        for (index, file) in (files ?? []).enumerated() {
            try SchemaCheck.length(file.path, at: "body.files[\(index)].path", min: 1, max: .max)
            try SchemaCheck.oneOf(file.encoding, ["utf8", "base64"], at: "body.files[\(index)].encoding")
        }
        try SchemaCheck.range(resources?.cpuMillis, 100...8000, at: "body.resources.cpuMillis")
        try SchemaCheck.range(resources?.memoryMB, 128...8192, at: "body.resources.memoryMB")
        try SchemaCheck.range(resources?.timeoutMs, 1000...300_000, at: "body.resources.timeoutMs")
        try SchemaCheck.oneOf(network, ["none", "outgoing", "exposed"], at: "body.network")
        for (index, port) in (ports ?? []).enumerated() {
            try SchemaCheck.range(port.container, 1...65535, at: "body.ports[\(index)].container")
            try SchemaCheck.oneOf(port.protocol, ["tcp", "udp"], at: "body.ports[\(index)].protocol")
        }
        return self
    }
}
