import Crypto
public import ExecboxHTTP2
import ExecboxRPC
import ExecboxWire
import Foundation
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// One HTTP/1.1 connection of the gateway, served by its connection task: requests one after
/// another (keep-alive), each body streamed to its route, and at most one switch to a WebSocket.
struct HTTP1Connection: Sendable {
    typealias Inbound = NIOAsyncChannelInboundStream<GatewayInbound>
    let gateway: Gateway
    let channel: NIOAsyncChannel<GatewayInbound, GatewayOutbound>
    let peer: String

    /// The body left unread by a route that is drained to keep the connection; beyond it, close.
    static let maxDrainedBytes = 1 << 20

    func run() async {
        try? await channel.executeThenClose { inbound, outbound in
            let parts = SharedIterator(inbound.makeAsyncIterator())
            while let part = try await parts.next() {
                guard case .http(.head(let head)) = part else { continue }
                let reader = HTTP1BodyReader(parts: parts)
                if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                    // The client waits for this before sending the body; send it when a route reads.
                    let version = head.version
                    reader.beforeFirstRead = {
                        try await outbound.write(.http(.head(HTTPResponseHead(version: version, status: .continue))))
                    }
                }
                let request = GatewayRequest(
                    method: head.method.rawValue, target: head.uri,
                    headers: head.headers.map { ($0.name, $0.value) }, peer: peer,
                    body: RequestBody(declaredLength: Self.bodyLength(head)) { try await reader.next() })
                let sink = HTTP1Sink(outbound: outbound, version: head.version, keepAlive: head.isKeepAlive) {
                    // A response that leaves a body too large to drain ends the connection: say so.
                    !reader.canDrain(upTo: Self.maxDrainedBytes, declared: request.body.declaredLength)
                }
                let plan = await gateway.serve(request, sink: sink, canUpgrade: true)
                let drained = try await reader.drain(upTo: Self.maxDrainedBytes)
                if let plan {
                    guard drained, let accepted = try await upgrade(head, plan: plan, outbound: outbound) else {
                        return
                    }
                    await plan.run(WebSocketConnection(inbound: parts, outbound: outbound, subprotocol: accepted))
                    return
                }
                guard head.isKeepAlive, drained, sink.completed else { return }
            }
        }
    }

    /// The body's length when the head tells it: `Content-Length`, or 0 without it and without
    /// chunked transfer coding (RFC 9112 §6.3); nil for a chunked body.
    static func bodyLength(_ head: HTTPRequestHead) -> Int? {
        if let length = head.headers.first(name: "content-length").flatMap(Int.init) { return length }
        let chunked = head.headers[canonicalForm: "transfer-encoding"].contains { $0.lowercased() == "chunked" }
        return chunked ? nil : 0
    }

    /// Answers 101 and swaps NIOHTTP1's handlers for NIOWebSocket's, in one event-loop turn: no
    /// client frame can reach the HTTP decoder. Returns the selected sub-protocol ("" for none), or
    /// nil when the handshake is not a valid RFC 6455 one (after a 400).
    func upgrade(
        _ head: HTTPRequestHead, plan: WebSocketPlan, outbound: NIOAsyncChannelOutboundWriter<GatewayOutbound>
    ) async throws -> String? {
        guard head.headers.first(name: "sec-websocket-version") == "13",
            let key = head.headers.first(name: "sec-websocket-key"),
            Data(base64Encoded: key)?.count == 16
        else {
            let sink = HTTP1Sink(outbound: outbound, version: head.version, keepAlive: false)
            let responder = Responder(sink: sink, requestID: Gateway.requestID(nil), cors: nil, isHead: false)
            var error = GatewayError.badRequest("a WebSocket handshake needs Sec-WebSocket-Version 13 and a key")
            error.headers = [("sec-websocket-version", "13")]
            await responder.fail(error)
            return nil
        }
        var headers = HTTPHeaders()
        headers.add(name: "upgrade", value: "websocket")
        headers.add(name: "connection", value: "Upgrade")
        headers.add(name: "sec-websocket-accept", value: Self.acceptValue(key))
        if let subprotocol = plan.subprotocol { headers.add(name: "sec-websocket-protocol", value: subprotocol) }
        headers.add(name: "x-request-id", value: plan.requestID)
        let response = HTTPResponseHead(version: head.version, status: .switchingProtocols, headers: headers)
        let maxMessage = gateway.configuration.webSocketMaxMessageBytes
        let pipeline = channel.channel.pipeline
        try await channel.channel.eventLoop.submit {
            let operations = pipeline.syncOperations
            let adapter = try operations.handler(type: HTTPPartsAdapter.self)
            try operations.context(handler: adapter).writeAndFlush(
                NIOAny(HTTPServerResponsePart.head(response)), promise: nil)
            try operations.addHandlers(
                [
                    WebSocketFrameEncoder(),
                    ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxMessage)),
                    WebSocketFrameGuard(),
                    NIOWebSocketFrameAggregator(
                        minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 4096, maxAccumulatedFrameSize: maxMessage),
                    WebSocketErrorCloser(),
                    WebSocketFramesAdapter(),
                ], position: .after(adapter))
            _ = operations.removeHandler(adapter)
            if let timeout = try? operations.context(name: HTTP2Server.http1RequestHeadTimeoutName) {
                operations.removeHandler(context: timeout, promise: nil)
            }
            // Everything configureHTTPServerPipeline added.
            _ = try? operations.removeHandler(operations.handler(type: NIOHTTPResponseHeadersValidator.self))
            _ = try? operations.removeHandler(operations.handler(type: HTTPServerProtocolErrorHandler.self))
            _ = try? operations.removeHandler(operations.handler(type: HTTPServerPipelineHandler.self))
            _ = try? operations.removeHandler(operations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self))
            _ = try? operations.removeHandler(operations.handler(type: HTTPResponseEncoder.self))
        }.get()
        return plan.subprotocol ?? ""
    }

    /// `Sec-WebSocket-Accept` (RFC 6455 §4.2.2): base64(SHA-1(key + GUID)).
    static func acceptValue(_ key: String) -> String {
        let digest = Insecure.SHA1.hash(data: Data((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
        return Data(digest).base64EncodedString()
    }
}

/// Reads one request's body parts off the connection's shared inbound iterator.
final class HTTP1BodyReader: @unchecked Sendable {
    private let parts: SharedIterator<NIOAsyncChannelInboundStream<GatewayInbound>.AsyncIterator>
    private var ended = false
    /// Runs once, before the first read (the `100 Continue` of an `Expect: 100-continue` request).
    var beforeFirstRead: (@Sendable () async throws -> Void)?

    init(parts: SharedIterator<NIOAsyncChannelInboundStream<GatewayInbound>.AsyncIterator>) {
        self.parts = parts
    }

    func next() async throws -> ByteBuffer? {
        if let hook = beforeFirstRead {
            beforeFirstRead = nil
            try await hook()
        }
        while !ended {
            switch try await parts.next() {
            case .http(.body(let chunk))?:
                consumed += chunk.readableBytes
                return chunk
            case .http(.end)?, nil: ended = true
            default: continue
            }
        }
        return nil
    }

    private(set) var consumed = 0

    /// Whether what is left of the body is known to fit in `limit` (a chunked body that has not
    /// ended cannot be known to).
    func canDrain(upTo limit: Int, declared: Int?) -> Bool {
        ended || (declared.map { $0 - consumed <= limit } ?? false)
    }

    /// Reads what the route left, up to `limit` bytes; false when more was left (the connection
    /// cannot be reused) or it ended early.
    func drain(upTo limit: Int) async throws -> Bool {
        var total = 0
        while let chunk = try await next() {
            total += chunk.readableBytes
            if total > limit { return false }
        }
        return true
    }
}

/// The response side of one HTTP/1.1 request.
final class HTTP1Sink: ResponseSink, @unchecked Sendable {
    let outbound: NIOAsyncChannelOutboundWriter<GatewayOutbound>
    let version: HTTPVersion
    let keepAlive: Bool
    /// Set once the response ended cleanly; otherwise the connection is not reused.
    private(set) var completed = false
    private(set) var headWritten = false

    /// Nothing to send: the connection closes because the response never completed.
    func abort() {}

    /// Checked when the head goes out: true when the connection will not be reused.
    let closesAfter: @Sendable () -> Bool

    init(
        outbound: NIOAsyncChannelOutboundWriter<GatewayOutbound>, version: HTTPVersion, keepAlive: Bool,
        closesAfter: @escaping @Sendable () -> Bool = { false }
    ) {
        self.outbound = outbound
        self.version = version
        self.keepAlive = keepAlive
        self.closesAfter = closesAfter
    }

    func writeHead(status: Int, headers: [(String, String)]) async throws {
        headWritten = true
        var fields = HTTPHeaders(headers)
        if !keepAlive || closesAfter() { fields.replaceOrAdd(name: "connection", value: "close") }
        try await outbound.write(
            .http(
                .head(
                    HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: status), headers: fields))
            ))
    }

    func writeBody(_ chunk: ByteBuffer) async throws {
        try await outbound.write(.http(.body(.byteBuffer(chunk))))
    }

    func finish() async throws {
        try await outbound.write(.http(.end(nil)))
        completed = true
    }
}

extension Gateway {
    /// The listener's HTTP/1.1 side: the gateway serves each connection from its connection task.
    public var http1Initializer: HTTP2Server.HTTP1Initializer {
        { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(HTTPPartsAdapter())
                let async = try NIOAsyncChannel<GatewayInbound, GatewayOutbound>(
                    wrappingChannelSynchronously: channel)
                let connection = HTTP1Connection(
                    gateway: self, channel: async, peer: channel.remoteAddress.map { "\($0)" } ?? "unknown")
                return { await connection.run() }
            }
        }
    }
}
