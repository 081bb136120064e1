import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A response read whole (the REST bodies here are a few hundred bytes).
struct HTTP1Response: Sendable {
    var status: Int
    var keepAlive: Bool
    var body: ByteBuffer

    var text: String { String(buffer: body) }
}

/// A request handed to the connection's channel together with the promise its response completes.
struct HTTP1PendingRequest: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?
    var promise: EventLoopPromise<HTTP1Response>
}

/// The client side of one HTTP/1.1 connection: writes each request (head, body, end) and completes
/// its promise when the response's end arrives, in order. A minimal keep-alive client: no
/// pipelining is used by the callers, one request at a time.
final class HTTP1ClientHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTP1PendingRequest
    typealias OutboundOut = HTTPClientRequestPart

    private var waiting = CircularBuffer<EventLoopPromise<HTTP1Response>>()
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        waiting.append(request.promise)
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        if let body = request.body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            // 1xx heads (100 Continue) are not final responses.
            guard head.status.code >= 200 else { return }
            self.head = head
            body.clear()
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            guard let head, let promise = waiting.popFirst() else { return }
            self.head = nil
            promise.succeed(HTTP1Response(status: Int(head.status.code), keepAlive: head.isKeepAlive, body: body))
            body = ByteBuffer()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: any Error) {
        while let promise = waiting.popFirst() { promise.fail(error) }
    }
}

/// One keep-alive HTTP/1.1 connection for the REST calls, reopened when the server closes it.
final class HTTP1Client: Sendable {
    let host: String
    let port: Int
    let group: any EventLoopGroup
    private let channel = NIOLockedValueBox<(any Channel)?>(nil)
    /// Connections opened, to check that keep-alive held.
    private let opened = NIOLockedValueBox(0)

    var connections: Int { opened.withLockedValue { $0 } }

    init(host: String, port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.host = host
        self.port = port
        self.group = group
    }

    func request(_ head: HTTPRequestHead, body: ByteBuffer? = nil) async throws -> HTTP1Response {
        let channel = try await connected()
        let promise = channel.eventLoop.makePromise(of: HTTP1Response.self)
        channel.writeAndFlush(HTTP1PendingRequest(head: head, body: body, promise: promise), promise: nil)
        let response: HTTP1Response
        do {
            response = try await promise.futureResult.get()
        } catch {
            forget(channel)
            throw error
        }
        if !response.keepAlive { forget(channel) }
        return response
    }

    func close() async {
        let channel = self.channel.withLockedValue { channel in
            defer { channel = nil }
            return channel
        }
        try? await channel?.close()
    }

    private func forget(_ closed: any Channel) {
        channel.withLockedValue { if $0 === closed { $0 = nil } }
        closed.close(promise: nil)
    }

    private func connected() async throws -> any Channel {
        if let channel = channel.withLockedValue({ $0 }), channel.isActive { return channel }
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(HTTP1ClientHandler())
                }
            }
            .connect(host: host, port: port)
            .get()
        opened.withLockedValue { $0 += 1 }
        self.channel.withLockedValue { $0 = channel }
        return channel
    }
}
