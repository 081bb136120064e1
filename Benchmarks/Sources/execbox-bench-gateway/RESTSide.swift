import FoundationEssentials
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Ours: the REST /v1 gateway on the same listener. `POST /v1/sessions` and `DELETE
/// /v1/sessions/{id}` on one keep-alive HTTP/1.1 connection; each exec a WebSocket on a connection
/// of its own (`GET /v1/sessions/{id}/exec?cmd=…&cmd=…`, the upgrade uses the connection up), as a
/// legacy client does it. `Authorization: Bearer <key>` on every request.
struct RESTSide: Side {
    let rest: HTTP1Client
    let host: String
    let port: Int
    let authorization: String
    let group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    let clock = ContinuousClock()

    var name: String { "rest" }

    init(host: String, port: Int, key: String) {
        rest = HTTP1Client(host: host, port: port)
        self.host = host
        self.port = port
        authorization = "Bearer \(key)"
    }

    private var authority: String { "\(host):\(port)" }

    private func head(_ method: HTTPMethod, _ uri: String, contentLength: Int? = nil) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.add(name: "host", value: authority)
        headers.add(name: "authorization", value: authorization)
        if let contentLength {
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "content-length", value: String(contentLength))
        }
        return HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
    }

    struct Created: Decodable {
        var id: String
        var status: String
    }

    struct Killed: Decodable {
        var status: String
    }

    static let createBody = ByteBuffer(string: #"{"image":"default","network":"none"}"#)

    /// `POST /v1/sessions {"image":"default","network":"none"}` → 201 with the session running.
    func create() async throws -> String {
        let body = Self.createBody
        let response = try await rest.request(
            head(.POST, "/v1/sessions", contentLength: body.readableBytes), body: body)
        guard response.status == 201 else {
            throw BenchFailure("POST /v1/sessions answered \(response.status): \(response.text)")
        }
        let created = try JSONDecoder().decode(Created.self, from: Data(response.body.readableBytesView))
        guard created.status == "running" else { throw BenchFailure("POST /v1/sessions: status \(created.status)") }
        return created.id
    }

    /// `DELETE /v1/sessions/{id}` → 200 `{"status":"killed"}`.
    func kill(_ id: String) async throws {
        let response = try await rest.request(head(.DELETE, "/v1/sessions/\(id)"))
        guard response.status == 200,
            (try? JSONDecoder().decode(Killed.self, from: Data(response.body.readableBytesView)))?.status == "killed"
        else {
            throw BenchFailure("DELETE /v1/sessions/\(id) answered \(response.status): \(response.text)")
        }
    }

    enum Upgrade: Sendable {
        case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
        case refused(EventLoopFuture<HTTP1Response>)
    }

    /// The exec WebSocket: connect, upgrade, send `06` (stdin close, as the gRPC side's half-close),
    /// read Stdout/Stderr frames up to the Exit frame, then the server's close (1000), answered with
    /// a close before the connection is dropped.
    func exec(in id: String, _ argv: [String], keep: Bool) async throws -> ExecOutcome {
        let uri = "/v1/sessions/\(id)/exec?" + argv.map { "cmd=" + Self.percentEncoded($0) }.joined(separator: "&")
        var headers = HTTPHeaders()
        headers.add(name: "host", value: authority)
        headers.add(name: "authorization", value: authorization)
        let requestHead = HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: headers)
        let upgrade: EventLoopFuture<Upgrade> = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Output frames carry up to 64 KiB; the server accepts messages up to 16 MiB.
                    let upgrader = NIOTypedWebSocketClientUpgrader<Upgrade>(maxFrameSize: 1 << 24) { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            .websocket(try NIOAsyncChannel(wrappingChannelSynchronously: channel))
                        }
                    }
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration<Upgrade>(
                        upgradeRequestHead: requestHead, upgraders: [upgrader]
                    ) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            let promise = channel.eventLoop.makePromise(of: HTTP1Response.self)
                            try channel.pipeline.syncOperations.addHandler(RefusalCollector(promise: promise))
                            return .refused(promise.futureResult)
                        }
                    }
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                        configuration: .init(upgradeConfiguration: configuration))
                }
            }
        let socket: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>
        switch try await upgrade.get() {
        case .websocket(let channel): socket = channel
        case .refused(let response):
            let response = try await response.get()
            throw BenchFailure("exec WebSocket refused: \(response.status) \(response.text)")
        }
        let upgraded = clock.now
        let clock = clock
        return try await socket.executeThenClose { inbound, outbound in
            var outcome = ExecOutcome()
            outcome.upgraded = upgraded
            try await outbound.write(Self.masked(.binary, ByteBuffer(bytes: [0x06])))
            for try await frame in inbound {
                switch frame.opcode {
                case .binary, .text:
                    var data = frame.unmaskedData
                    guard let type = data.readInteger(as: UInt8.self) else {
                        outcome.problems.append("empty frame")
                        continue
                    }
                    switch type {
                    case 0x02, 0x03:
                        guard let length = data.readInteger(as: UInt32.self), Int(length) == data.readableBytes else {
                            outcome.problems.append("output frame with a wrong length")
                            continue
                        }
                        if outcome.first == nil { outcome.first = clock.now }
                        if type == 0x02 {
                            outcome.bytes += data.readableBytes
                            if keep { outcome.stdout += data.readableBytesView }
                        } else {
                            outcome.problems.append("stderr: \(String(buffer: data))")
                        }
                    case 0x04:
                        outcome.exited = clock.now
                        outcome.exitCode = data.readInteger(as: Int32.self)
                    case 0x05:
                        data.moveReaderIndex(forwardBy: min(4, data.readableBytes))
                        outcome.problems.append("error frame: \(String(buffer: data))")
                    default:
                        outcome.problems.append("unknown frame type \(type)")
                    }
                case .connectionClose:
                    // The server's close after the exit: answer it, then drop the connection.
                    var data = frame.unmaskedData
                    let code = data.readWebSocketErrorCode() ?? .normalClosure
                    if code != .normalClosure { outcome.problems.append("closed with \(code)") }
                    var reply = ByteBuffer()
                    reply.write(webSocketErrorCode: .normalClosure)
                    try? await outbound.write(Self.masked(.connectionClose, reply))
                    return outcome
                case .ping:
                    try await outbound.write(Self.masked(.pong, frame.unmaskedData))
                default:
                    continue
                }
            }
            if outcome.exited == nil { outcome.problems.append("connection ended before the exit") }
            return outcome
        }
    }

    /// Client frames must be masked (RFC 6455 §5.1); the encoder applies the key.
    static func masked(_ opcode: WebSocketOpcode, _ data: ByteBuffer) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: opcode, maskKey: .random(), data: data)
    }

    /// A query value with everything but unreserved characters and `/` percent-encoded.
    static func percentEncoded(_ value: String) -> String {
        var encoded = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"), UInt8(ascii: "/"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF".utf8)
                encoded += "%" + String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return encoded
    }
}

/// The response to an upgrade request the server refused (its JSON error), read whole.
final class RefusalCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<HTTP1Response>
    private var completed = false
    private var status = 0
    private var body = ByteBuffer()

    init(promise: EventLoopPromise<HTTP1Response>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body(var chunk): body.writeBuffer(&chunk)
        case .end:
            guard !completed else { return }
            completed = true
            promise.succeed(HTTP1Response(status: status, keepAlive: false, body: body))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !completed {
            completed = true
            promise.fail(ChannelError.ioOnClosedChannel)
        }
        context.fireChannelInactive()
    }
}
