public import ExecboxGateway
import Foundation
import NIOCore
import Synchronization

/// A router-level REST client: requests go straight into a ``Gateway`` (no sockets), responses are
/// collected whole. For fast tests of routes, mappings and error bodies; the Python suite covers
/// the same over real HTTP/1.1, HTTP/2 and WebSockets.
public struct GatewayTestClient: Sendable {
    public let gateway: Gateway

    public init(gateway: Gateway) {
        self.gateway = gateway
    }

    public func send(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = [],
        peer: String = "[IPv4]127.0.0.1/127.0.0.1:40000"
    ) async -> GatewayTestResponse {
        let chunks = Mutex(body.isEmpty ? [] : [ByteBuffer(bytes: body)])
        let request = GatewayRequest(
            method: method, target: target, headers: headers.map { ($0.0, $0.1) }, peer: peer,
            body: RequestBody(declaredLength: body.count) { chunks.withLock { $0.isEmpty ? nil : $0.removeFirst() } })
        let sink = RecordingSink()
        await gateway.respond(to: request, sink: sink)
        return sink.response
    }

    /// A JSON request with a bearer key.
    public func json(_ method: String, _ target: String, key: String?, body: String? = nil) async -> GatewayTestResponse
    {
        var headers: [(String, String)] = []
        if let key { headers.append(("authorization", "Bearer \(key)")) }
        if body != nil { headers.append(("content-type", "application/json")) }
        return await send(method, target, headers: headers, body: Array((body ?? "").utf8))
    }
}

/// One collected response.
public struct GatewayTestResponse: Sendable {
    public var status = 0
    public var headers: [(String, String)] = []
    public var body: [UInt8] = []
    public var finished = false
    public var aborted = false

    public init() {}

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name }?.1
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The body parsed as a JSON object (nil when it is not one).
    public var object: [String: any Sendable]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: any Sendable]
    }
}

final class RecordingSink: ResponseSink {
    private let state = Mutex(GatewayTestResponse())

    var response: GatewayTestResponse { state.withLock { $0 } }

    var headWritten: Bool { state.withLock { $0.status != 0 } }

    func abort() {
        state.withLock { $0.aborted = true }
    }

    func writeHead(status: Int, headers: [(String, String)]) async throws {
        state.withLock {
            $0.status = status
            $0.headers = headers
        }
    }

    func writeBody(_ chunk: ByteBuffer) async throws {
        state.withLock { $0.body += chunk.readableBytesView }
    }

    func finish() async throws {
        state.withLock { $0.finished = true }
    }
}
